"""load_plugin (folders, config files, modules, codes; cached and invalidated),
discover_plugins, the registry that answers them (owned by the runtime; registered by
code, validated then), and the import-based scan."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.waiting import wait_until

from hoist.errors import ActionNotFoundError, ConfigError, PluginNotFoundError
from hoist.executors.local import LocalExecutor
from hoist.plugins.discovery import (
    PluginRegistry,
    discover_plugins,
    load_plugin,
    plugin_registry,
    scan_module,
    scan_package,
)
from hoist.plugins.types import ModelWeights, TextCorpus
from hoist.runs.runtime import Runtime, get_runtime, reset_runtime
from hoist.runs.sinks.memory import MemorySink
from hoist.settings import Settings

WritePlugin = Callable[..., Path]

CONFIG = """
name: Calc
code: calc
actions:
  add:
    entrypoint: plugin.actions:AddAction
    method: task
  double:
    entrypoint: plugin.actions:double
    input_type: TextCorpus
"""

ACTIONS = """
from pydantic import BaseModel, Field
from hoist import BaseAction, action


class AddParams(BaseModel):
    a: int
    b: int = Field(0, ge=0, le=1024, description="second operand")


class AddAction(BaseAction[AddParams]):
    \"\"\"Add two numbers.\"\"\"

    def execute(self):
        return self.params.a + self.params.b


@action(name="double", description="Twice a")
def double(params: AddParams, context):
    return 2 * params.a


NOT_AN_ACTION = 3
"""


@pytest.fixture
def calc(write_plugin: WritePlugin) -> Path:
    return write_plugin(
        "calc",
        {"config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/actions.py": ACTIONS},
    )


def run(action_cls: Any, params: dict[str, Any]) -> Any:
    return LocalExecutor(sink=MemorySink()).execute(action_cls, params)


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def test_folder_and_config_file_forms(calc: Path) -> None:
    for given in (calc, str(calc), calc / "config.yaml"):
        plugin = load_plugin(given)
        assert (plugin.code, plugin.root, plugin.config_path) == (
            "calc",
            calc.resolve(),
            (calc / "config.yaml").resolve(),
        )
    plugin = load_plugin(calc)
    assert plugin.action_names() == ["add", "double"]
    assert plugin.entrypoint("add") == "plugin.actions:AddAction"
    assert plugin.action_config("add").method == "task"
    assert run(plugin.load_action("add"), {"a": 2, "b": 3}) == 5
    assert run(plugin.load_action("double"), {"a": 4}) == 8


def test_function_action_gets_its_type_from_the_config(calc: Path) -> None:
    assert load_plugin(calc).load_action("double").input_type is TextCorpus


def test_unknown_action_suggests(calc: Path) -> None:
    with pytest.raises(ActionNotFoundError) as info:
        load_plugin(calc).load_action("ad")
    assert info.value.suggestions == ["add"] and "did you mean 'add'" in str(info.value)


def test_entrypoint_that_does_not_import_points_at_the_config(calc: Path) -> None:
    edit(calc / "config.yaml", "plugin.actions:AddAction", "plugin.actionz:AddAction")
    with pytest.raises(ConfigError) as info:
        load_plugin(calc).load_action("add")
    error = info.value
    assert (error.path, error.line, error.key) == (
        str((calc / "config.yaml").resolve()),
        5,
        "actions.add.entrypoint",
    )
    assert "entrypoint 'plugin.actionz:AddAction' does not import: " in error.problem
    assert "No module named 'plugin.actionz'" in error.problem


def test_entrypoint_that_is_not_an_action(calc: Path) -> None:
    edit(calc / "config.yaml", "plugin.actions:AddAction", "plugin.actions:NOT_AN_ACTION")
    with pytest.raises(ConfigError, match="is not an action") as info:
        load_plugin(calc).load_action("add")
    assert info.value.line == 5


def test_entrypoint_naming_an_abstract_helper(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "abstract",
        {
            "config.yaml": "name: A\ncode: a\nactions:\n  go:\n    entrypoint: m:Base\n",
            "m.py": "from hoist import BaseAction\nclass Base(BaseAction):\n    pass\n",
        },
    )
    with pytest.raises(ConfigError, match="neither execute"):
        load_plugin(root).load_action("go")


def test_declared_type_contradicting_the_class(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "typed",
        {
            "config.yaml": "name: T\ncode: t\nactions:\n  go:\n    entrypoint: m:Go\n"
            "    output_type: TextCorpus\n",
            "m.py": """
                from hoist import BaseAction
                from hoist.plugins.types import ModelWeights
                class Go(BaseAction):
                    output_type = ModelWeights
                    def execute(self):
                        return 1
                """,
        },
    )
    with pytest.raises(ConfigError, match="does not match") as info:
        load_plugin(root).load_action("go")
    assert (info.value.line, info.value.key) == (6, "actions.go.output_type")
    assert ModelWeights is not TextCorpus


def test_cached_until_a_python_file_changes(calc: Path) -> None:
    plugin = load_plugin(calc)
    cls = plugin.load_action("add")
    assert load_plugin(calc) is plugin and load_plugin(str(calc)).load_action("add") is cls
    edit(calc / "plugin" / "actions.py", "self.params.a + self.params.b", "100 * self.params.a")
    reloaded = load_plugin(calc)
    assert reloaded is not plugin
    assert run(reloaded.load_action("add"), {"a": 2, "b": 3}) == 200
    assert run(cls, {"a": 2, "b": 3}) == 5  # what already ran keeps its own code


def test_cached_until_config_changes(calc: Path) -> None:
    plugin = load_plugin(calc)
    edit(calc / "config.yaml", "actions:\n", "actions:\n  triple:\n    entrypoint: plugin.x:T\n")
    assert load_plugin(calc).action_names() == ["triple", "add", "double"]
    assert plugin.action_names() == ["add", "double"]


def test_cache_notices_new_top_level_modules_only(calc: Path) -> None:
    plugin = load_plugin(calc)
    (calc / "output.csv").write_text("an action's output, not code\n")
    assert load_plugin(calc) is plugin
    (calc / "extra.py").write_text("X = 1\n")
    assert load_plugin(calc) is not plugin


def test_broken_edit_raises_then_recovers(calc: Path) -> None:
    load_plugin(calc)
    original = (calc / "config.yaml").read_text()
    (calc / "config.yaml").write_text(original.replace("method: task", "method: tsak"))
    with pytest.raises(ConfigError, match="unknown method"):
        load_plugin(calc)
    (calc / "config.yaml").write_text(original)
    assert load_plugin(calc).code == "calc"


def test_importable_module_with_config(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "site",
        {
            "my_plugin/__init__.py": "",
            "my_plugin/config.yaml": "name: My\ncode: my_plugin\nactions:\n  add:\n"
            "    entrypoint: my_plugin.actions:AddAction\n",
            "my_plugin/actions.py": ACTIONS,
        },
    )
    sys.path.insert(0, str(root))
    plugin = load_plugin("my_plugin")
    assert (plugin.module, plugin.root, plugin.namespace) == ("my_plugin", root / "my_plugin", None)
    cls = plugin.load_action("add")
    assert cls.__module__ == "my_plugin.actions"  # a plain import: no isolation needed
    assert run(cls, {"a": 1, "b": 1}) == 2


def test_importable_module_without_config_is_scanned(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "site",
        {
            "scanned_pkg/__init__.py": '"""Scanned plugin."""\n',
            "scanned_pkg/actions.py": ACTIONS,
            "scanned_pkg/tests/test_it.py": "raise RuntimeError('tests are not scanned')\n",
        },
    )
    sys.path.insert(0, str(root))
    plugin = load_plugin("scanned_pkg")
    assert (plugin.code, plugin.config.description) == ("scanned_pkg", "Scanned plugin.")
    assert plugin.action_names() == ["add", "double"]
    assert plugin.entrypoint("double") == "scanned_pkg.actions:double"
    assert run(plugin.load_action("double"), {"a": 5}) == 10


def test_not_found_lists_plugins_nearby(
    calc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    os.rename(calc, plugins / "calc")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PluginNotFoundError) as info:
        load_plugin("calx")
    assert info.value.available == ["calc"] and info.value.suggestions == ["calc"]
    assert load_plugin("calc").root == (plugins / "calc").resolve()  # found by its code
    assert load_plugin("plugins/calc").code == "calc"


def test_discover_plugins_reports_broken_ones(write_plugin: WritePlugin, tmp_path: Path) -> None:
    good = CONFIG.replace("code: calc", "code: good")
    write_plugin("plugins/good", {"config.yaml": good})
    write_plugin("plugins/nested/deep", {"config.yaml": good.replace("good", "deep")})
    write_plugin("plugins/broken", {"config.yaml": "name: B\ncode: b\nactons: {}\n"})
    write_plugin("plugins/good/inner", {"config.yaml": "name: I\ncode: inner\n"})
    write_plugin("a/b/c/too_deep", {"config.yaml": good.replace("good", "too_deep")})
    found = discover_plugins(tmp_path / "plugins", tmp_path / "a")
    assert sorted(p.code for p in found) == ["deep", "good"]
    (error,) = found.errors
    assert (error.line, error.key) == (3, "actons")


def test_scan_module_finds_what_the_module_defines(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "scan",
        {
            "plugin/__init__.py": "",
            "plugin/actions.py": ACTIONS,
            "plugin/more.py": textwrap.dedent("""
                from hoist import BaseAction
                from hoist.plugins.types import YOLODataset
                from plugin.actions import AddAction, AddParams  # imported: not listed here

                class Helper(BaseAction[AddParams]):
                    '''A base class with no execute: not an action.'''

                class Sub(Helper):
                    '''Concrete.'''
                    action_name = "sub"
                    input_type = YOLODataset
                    def execute(self):
                        return 0
                """),
        },
    )
    plugin = load_plugin(write_plugin("scan", {"config.yaml": "name: S\ncode: s\n"}))
    assert plugin.root == root.resolve()
    namespace = plugin.namespace
    assert namespace is not None
    infos = {i.entrypoint: i for i in scan_package(namespace)}
    assert sorted(infos) == ["plugin.actions:AddAction", "plugin.actions:double", "plugin.more:Sub"]
    add = infos["plugin.actions:AddAction"]
    assert (add.name, add.description, add.kind, add.params_model) == (
        "add",
        "Add two numbers.",
        "class",
        "AddParams",
    )
    a, b = add.params
    assert (a.name, a.type, a.required, a.default) == ("a", "int", True, None)
    assert (b.default, b.description, b.constraints) == (0, "second operand", {"ge": 0, "le": 1024})
    assert infos["plugin.actions:double"].kind == "function"
    assert infos["plugin.more:Sub"].input_type == "YOLODataset"
    module = namespace.import_module("plugin.more")
    assert [i.name for i in scan_module(module, namespace=namespace)] == ["sub"]


def test_the_registry_is_the_runtimes_and_ends_with_it(calc: Path, tmp_path: Path) -> None:
    registry = plugin_registry()
    assert registry is get_runtime().component(PluginRegistry) is plugin_registry()
    plugin = load_plugin(calc)
    plugin.load_action("add")
    loaded = [m for m in sys.modules if m.startswith(plugin.namespace.prefix)]
    assert loaded and load_plugin(calc) is plugin
    other = Runtime(Settings(home=tmp_path / "other"))
    assert plugin_registry(other) is not registry  # an owned runtime has its own
    reset_runtime()
    assert not [m for m in sys.modules if m in loaded]  # its code unloaded
    assert plugin_registry() is not registry and load_plugin(calc) is not plugin


def test_register_validates_at_once_and_lookups_suggest(
    calc: Path, write_plugin: WritePlugin
) -> None:
    registry = plugin_registry()
    plugin = registry.register(load_plugin(calc))
    assert registry.get("calc") is plugin and registry.find("calx") is None
    assert registry.register(load_plugin(calc / "config.yaml")) is not None  # same origin
    twin = write_plugin("twin", {"config.yaml": "name: Twin\ncode: calc\n"})
    with pytest.raises(ConfigError, match=r"'calc' is already taken by .*calc") as info:
        registry.register(load_plugin(twin))
    assert info.value.path == str(twin)
    with pytest.raises(PluginNotFoundError, match="did you mean 'calc'"):
        registry.get("calx")
    assert load_plugin("calc") is registry.get("calc")  # a registered code loads anywhere


def test_run_plugin_follows_a_reconfigured_runtime(calc: Path, tmp_path: Path) -> None:
    from hoist.executors.plugin_runner import run_plugin
    from hoist.runs.runtime import configure

    first = configure(Settings(home=tmp_path / "first"))
    assert run_plugin(calc, "add", {"a": 1}, mode="local") == 1
    second = configure(Settings(home=tmp_path / "second"))  # warm executors start afresh
    assert run_plugin(calc, "add", {"a": 2}, mode="local") == 2
    recorded = wait_until(second.store.list_runs, what="the run in the second store")
    assert [r.params for r in recorded] == [{"a": 2, "b": 0}]
    assert first.settings.home != second.settings.home
