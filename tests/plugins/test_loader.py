"""Isolated loading: plugins whose modules share names run side by side in one process."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import ConfigError
from hoist.executors.local import LocalExecutor
from hoist.plugins.discovery import load_plugin
from hoist.plugins.loader import PREFIX, PluginNamespace
from hoist.runs.sinks.memory import MemorySink

WritePlugin = Callable[..., Path]

CONFIG = """
name: {code}
code: {code}
actions:
  whoami:
    entrypoint: plugin.actions:WhoAmI
"""

PARAMS = """
from pydantic import BaseModel

OWNER = "{code}"

class P(BaseModel):
    suffix: str = ""
"""

HELPERS = """
def shout(text):
    return text.upper() + "{mark}"
"""

ACTIONS = """
from hoist import BaseAction
from plugin.params import OWNER, P
from . import params as relative_params
import plugin.params


class WhoAmI(BaseAction[P]):
    def execute(self):
        import plugin.helpers  # resolved when the action runs, not at import

        assert relative_params.OWNER == plugin.params.OWNER == OWNER
        return {"owner": OWNER + self.params.suffix, "shout": plugin.helpers.shout(OWNER)}
"""


def same_names_plugin(write_plugin: WritePlugin, code: str, mark: str) -> Path:
    return write_plugin(
        code,
        {
            "config.yaml": CONFIG.format(code=code),
            "plugin/__init__.py": "",
            "plugin/params.py": PARAMS.format(code=code),
            "plugin/helpers.py": HELPERS.format(mark=mark),
            "plugin/actions.py": ACTIONS,
        },
    )


def run(action_cls: Any, params: dict[str, Any] | None = None) -> Any:
    return LocalExecutor(sink=MemorySink()).execute(action_cls, params or {})


def test_two_plugins_with_the_same_module_names(write_plugin: WritePlugin) -> None:
    alpha = load_plugin(same_names_plugin(write_plugin, "alpha", "!"))
    beta = load_plugin(same_names_plugin(write_plugin, "beta", "?"))
    alpha_cls, beta_cls = alpha.load_action("whoami"), beta.load_action("whoami")
    assert alpha_cls is not beta_cls
    # Interleaved runs: each sees only its own modules, including the import that
    # happens inside execute().
    assert run(beta_cls, {"suffix": "-2"}) == {"owner": "beta-2", "shout": "BETA?"}
    assert run(alpha_cls) == {"owner": "alpha", "shout": "ALPHA!"}
    assert run(beta_cls) == {"owner": "beta", "shout": "BETA?"}
    # Nothing leaked under the plain names, and the folders are not on sys.path.
    assert "plugin" not in sys.modules and "plugin.params" not in sys.modules
    assert not any(str(alpha.root) == p or str(beta.root) == p for p in sys.path)


def test_top_level_modules_shadowing_other_importable_modules(write_plugin: WritePlugin) -> None:
    # tests/pipelines puts its own ``actions`` module on sys.path; each plugin's
    # ``import actions`` must still get the plugin's file.
    roots = []
    for code in ("one", "two"):
        roots.append(
            write_plugin(
                code,
                {
                    "config.yaml": "name: N\ncode: n\nactions:\n  go:\n    entrypoint: main:go\n",
                    "main.py": """
                        from hoist import action
                        import actions

                        @action
                        def go(params, context):
                            import helpers
                            return actions.VALUE + helpers.VALUE
                        """,
                    "actions.py": f"VALUE = '{code}'\n",
                    "helpers.py": f"VALUE = '-{code}'\n",
                },
            )
        )
    results = [run(load_plugin(root).load_action("go")) for root in roots]
    assert results == ["one-one", "two-two"]


def test_seed_layout_folder_is_the_package(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "my_plugin",
        {
            "config.yaml": """
                name: My Plugin
                code: my_plugin
                actions:
                  process:
                    entrypoint: my_plugin.actions:ProcessAction
                """,
            "__init__.py": "",
            "params.py": "from pydantic import BaseModel\nclass ProcessParams(BaseModel):\n"
            "    batch_size: int = 32\n",
            "actions.py": """
                from hoist import BaseAction
                from my_plugin.params import ProcessParams

                class ProcessAction(BaseAction[ProcessParams]):
                    def execute(self):
                        return self.params.batch_size
                """,
        },
    )
    assert run(load_plugin(root).load_action("process"), {"batch_size": 64}) == 64
    assert "my_plugin" not in sys.modules


def test_resolve_errors_name_the_plugin_module(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "errs",
        {
            "plugin/__init__.py": "",
            "plugin/actions.py": "X = 1\n",
            "plugin/needs_torch.py": "import torch_that_does_not_exist\n",
            "plugin/broken.py": "def f(:\n",
        },
    )
    namespace = PluginNamespace(root, code="errs")
    assert namespace.resolve("plugin.actions:X") == 1
    cases = {
        "plugin.nope:X": "'plugin.nope:X' does not import: No module named 'plugin.nope'",
        "plugin.actions:Y": "module 'plugin.actions' has no attribute 'Y'",
        "plugin.needs_torch:X": "No module named 'torch_that_does_not_exist'",
        "plugin.broken:f": "does not import: SyntaxError",
        "plugin.actions.X": "entrypoint must look like 'module.path:Attribute'",
    }
    for entrypoint, problem in cases.items():
        with pytest.raises(ConfigError) as info:
            namespace.resolve(entrypoint, path="cfg.yaml", line=7, key="actions.a.entrypoint")
        assert problem in info.value.problem
        assert PREFIX not in str(info.value)
        assert (info.value.path, info.value.line, info.value.key) == (
            "cfg.yaml",
            7,
            "actions.a.entrypoint",
        )


def test_a_new_namespace_sees_a_same_size_same_mtime_edit(write_plugin: WritePlugin) -> None:
    # A .pyc is validated by whole-second mtime and size only: a reload must not trust it.
    root = write_plugin("quick", {"plugin/__init__.py": "", "plugin/v.py": "VALUE = 1\n"})
    source = root / "plugin" / "v.py"
    first = PluginNamespace(root)
    assert first.resolve("plugin.v:VALUE") == 1
    # Write the .pyc ourselves (PYTHONDONTWRITEBYTECODE may be set).
    py_compile.compile(str(source), cfile=importlib.util.cache_from_source(str(source)))
    stat = source.stat()
    source.write_text("VALUE = 2\n")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert PluginNamespace(root).resolve("plugin.v:VALUE") == 2


def test_unload_forgets_the_modules(write_plugin: WritePlugin) -> None:
    root = write_plugin("gone", {"plugin/__init__.py": "", "plugin/v.py": "VALUE = 1\n"})
    namespace = PluginNamespace(root)
    namespace.resolve("plugin.v:VALUE")
    assert f"{namespace.prefix}.plugin.v" in sys.modules
    namespace.unload()
    assert not [m for m in sys.modules if m.startswith(namespace.prefix)]


def test_records_the_files_it_imported(write_plugin: WritePlugin) -> None:
    root = write_plugin("rec", {"plugin/__init__.py": "", "plugin/v.py": "VALUE = 1\n"})
    namespace = PluginNamespace(root)
    namespace.resolve("plugin.v:VALUE")
    recorded = {Path(path).relative_to(root.resolve()) for path, _ in namespace.loaded}
    assert recorded == {Path("plugin/__init__.py"), Path("plugin/v.py")}
