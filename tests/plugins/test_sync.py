"""sync_config: discovered actions written into config.yaml, the user's text kept."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from hoist.errors import ConfigError
from hoist.executors.local import LocalExecutor
from hoist.plugins.config import load_config
from hoist.plugins.discovery import load_plugin
from hoist.plugins.sync import sync_config
from hoist.runs.sinks.memory import MemorySink

WritePlugin = Callable[..., Path]

CONFIG = """\
# Calc plugin -- hand-written header comment
name: Calc   # shown in the panel
code: calc
version: 0.1.0

actions:
    # add was written by hand; keep my method
    add:
        entrypoint: plugin.actions:AddAction   # the adder
        method: job
    # old stuff below is kept until pruned
    old:
        entrypoint: plugin.gone:Old
        description: Hand description
    # end of the actions
# tags come next
tags:
  - math    # first tag
  - demo
"""

ACTIONS = '''
from pydantic import BaseModel
from hoist import BaseAction, action
from hoist.plugins.types import TextCorpus, ModelWeights


class Numbers(BaseModel):
    a: int = 1
    b: int = 2


class AddAction(BaseAction[Numbers]):
    """Add: a + b # not a comment."""

    def execute(self):
        return self.params.a + self.params.b


class TrainAction(BaseAction[Numbers]):
    """Train on text."""

    action_name = "train"
    input_type = TextCorpus
    output_type = ModelWeights

    def execute(self):
        return "trained"


@action(name="double", description="Twice a")
def double(params: Numbers, context):
    return 2 * params.a
'''


@pytest.fixture
def calc(write_plugin: WritePlugin) -> Path:
    return write_plugin(
        "calc",
        {"config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/actions.py": ACTIONS},
    )


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines(keepends=True) if " #" in line or "#" in line[:1]]


def is_subsequence(small: list[str], big: list[str]) -> bool:
    remaining = iter(big)
    return all(any(line == other for other in remaining) for line in small)


def test_adds_actions_and_keeps_every_original_line(calc: Path) -> None:
    report = sync_config(calc)
    assert (report.added, report.updated, report.missing) == (["train", "double"], ["add"], ["old"])
    assert (report.used_ast, report.written, report.warnings) == (False, True, [])
    text = (calc / "config.yaml").read_text()
    # Comments survive byte for byte, and in fact every original line does, in order.
    assert len(comment_lines(CONFIG)) == 8
    assert is_subsequence(comment_lines(CONFIG), text.splitlines(keepends=True))
    assert is_subsequence(CONFIG.splitlines(keepends=True), text.splitlines(keepends=True))
    assert "        description: 'Add: a + b # not a comment.'\n" in text
    assert text.index("description: 'Add") < text.index("    # old stuff below")
    assert text.index("    train:\n") > text.index("    # end of the actions")
    assert text.index("    double:\n") < text.index("# tags come next")
    config = load_config(calc / "config.yaml")
    assert config.actions["add"].method == "job"  # user-set fields stay
    assert config.actions["old"].description == "Hand description"
    assert (config.actions["train"].input_type, config.actions["train"].output_type) == (
        "TextCorpus",
        "ModelWeights",
    )
    assert config.tags == ["math", "demo"]
    plugin = load_plugin(calc)
    assert LocalExecutor(sink=MemorySink()).execute(plugin.load_action("double"), {"a": 4}) == 8


def test_second_run_changes_nothing(calc: Path) -> None:
    sync_config(calc)
    before = (calc / "config.yaml").stat().st_mtime_ns
    report = sync_config(calc)
    assert not report.changed and not report.written
    assert sorted(report.unchanged) == ["add", "double", "train"]
    assert (calc / "config.yaml").stat().st_mtime_ns == before


def test_prune_removes_what_the_code_lost(calc: Path) -> None:
    report = sync_config(calc, prune=True)
    assert report.removed == ["old"]
    text = (calc / "config.yaml").read_text()
    assert "plugin.gone:Old" not in text and "Hand description" not in text
    # Comments are never deleted, only the entry's own lines.
    assert "    # old stuff below is kept until pruned\n    # end of the actions\n" in text
    assert "    # end of the actions\n    train:\n" in text
    assert list(load_config(calc / "config.yaml").actions) == ["add", "train", "double"]


def test_falls_back_to_the_ast_scan_when_import_fails(calc: Path) -> None:
    source = calc / "plugin" / "actions.py"
    source.write_text("import torch_that_does_not_exist\n" + source.read_text())
    report = sync_config(calc)
    assert report.used_ast and "torch_that_does_not_exist" in report.warnings[0]
    assert report.added == ["train", "double"]
    with pytest.raises(ConfigError, match="importing the plugin failed"):
        sync_config(calc, use_ast=False)


def test_forced_ast_scan_and_dry_run(calc: Path) -> None:
    report = sync_config(calc, use_ast=True, write=False)
    assert report.used_ast and report.added == ["train", "double"] and not report.written
    assert (calc / "config.yaml").read_text() == CONFIG


def test_creates_a_missing_config(write_plugin: WritePlugin) -> None:
    root = write_plugin("Fresh-Plugin", {"plugin/__init__.py": "", "plugin/actions.py": ACTIONS})
    report = sync_config(root)
    assert report.added == ["add", "train", "double"]
    config = load_config(root / "config.yaml")
    assert (config.name, config.code) == ("Fresh-Plugin", "fresh-plugin")
    assert config.actions["add"].entrypoint == "plugin.actions:AddAction"


@pytest.mark.parametrize(
    "actions",
    ["actions:\n", "actions: {}   # none yet\n", ""],
    ids=["null", "empty-flow", "absent"],
)
def test_empty_or_absent_actions(write_plugin: WritePlugin, actions: str) -> None:
    text = f"name: C\ncode: c\n{actions}tags: [x]   # keep\n"
    root = write_plugin("c", {"config.yaml": text, "m.py": ACTIONS})
    report = sync_config(root)
    assert report.added == ["add", "train", "double"] and report.warnings == []
    result = (root / "config.yaml").read_text()
    assert "tags: [x]   # keep\n" in result
    assert list(load_config(root / "config.yaml").actions) == ["add", "train", "double"]


def test_flow_style_entries_fall_back_to_the_dumper(write_plugin: WritePlugin) -> None:
    text = "name: C\ncode: c\nactions:\n  add: {entrypoint: 'm:AddAction'}\n"
    root = write_plugin("c", {"config.yaml": text, "m.py": ACTIONS})
    report = sync_config(root)
    assert report.updated == ["add"] and "re-written" in report.warnings[0]
    config = load_config(root / "config.yaml")
    assert config.actions["add"].description == "Add: a + b # not a comment."


def test_refuses_to_write_an_invalid_config(calc: Path) -> None:
    broken = CONFIG.replace("tags:", "tagz:")
    (calc / "config.yaml").write_text(broken)
    with pytest.raises(ConfigError, match="tagz"):
        sync_config(calc)
    assert (calc / "config.yaml").read_text() == broken


def test_bad_yaml_is_reported_with_its_line(calc: Path) -> None:
    (calc / "config.yaml").write_text("name: C\ncode: c\nactions: [\n")
    with pytest.raises(ConfigError) as info:
        sync_config(calc)
    assert info.value.line == 4


def test_writes_atomically_and_keeps_the_mode(calc: Path) -> None:
    path = calc / "config.yaml"
    path.chmod(0o640)
    sync_config(calc)
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in calc.iterdir()) == ["config.yaml", "plugin"]


def test_seed_layout_keeps_its_entrypoint_style(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "my_plugin",
        {
            "__init__.py": "",
            "actions.py": ACTIONS,
            "config.yaml": textwrap.dedent("""\
                name: My Plugin
                code: my_plugin
                actions:
                  process:
                    entrypoint: my_plugin.actions:AddAction
                """),
        },
    )
    report = sync_config(root)
    assert (report.added, report.updated) == (["train", "double"], ["process"])
    config = load_config(root / "config.yaml")
    assert config.actions["train"].entrypoint == "my_plugin.actions:TrainAction"
