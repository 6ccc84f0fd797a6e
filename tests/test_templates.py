"""`hoist new`: every category scaffolds a plugin whose actions run right away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hoist import run_plugin
from hoist.executors.local import LocalExecutor
from hoist.plugins.categories import PluginCategory
from hoist.plugins.config import load_config
from hoist.plugins.discovery import load_plugin
from hoist.plugins.templates import CATEGORIES_WITH_TEMPLATES, ScaffoldError, scaffold_plugin
from hoist.runs.models import RunStatus
from hoist.runs.sinks.memory import MemorySink


def test_every_category_has_a_template() -> None:
    assert set(CATEGORIES_WITH_TEMPLATES) == {c.value for c in PluginCategory}


@pytest.mark.parametrize("category", sorted(CATEGORIES_WITH_TEMPLATES))
def test_scaffold_runs_right_away(category: str, tmp_path: Path) -> None:
    root = scaffold_plugin(tmp_path, f"my_{category}", category=category, description="demo")
    config = load_config(root / "config.yaml")
    assert config.category == category and config.code == f"my_{category}"
    title = f"My {category.replace('_', ' ').title()}"
    assert (root / "README.md").read_text().startswith(f"# {title}\n")
    plugin = load_plugin(root)
    assert plugin.action_names()
    sink = MemorySink()
    executor = LocalExecutor(sink=sink)
    for action in plugin.action_names():
        result = run_plugin(root, action, {}, executor=executor)
        assert result is not None and result.model_dump()
    statuses = {run.action: run.status for run in sink.runs.values()}
    assert set(statuses.values()) == {RunStatus.SUCCEEDED}
    assert set(statuses) == set(plugin.action_names())


def test_cli_new_and_run(hoist: Any, tmp_path: Path) -> None:
    made = hoist("new", "vision", "--category", "neural_net", "--dir", str(tmp_path))
    assert made.code == 0, made.err
    ran = hoist("run", str(tmp_path / "vision"), "train", "-p", "epochs=2",
                "-p", "sleep_per_epoch=0", "--json")  # fmt: skip
    assert ran.code == 0, ran.err
    assert ran.json()["result"]["accuracy"] > 0.5


@pytest.mark.parametrize("code", ["My-Plugin", "1plugin", "has space", ""])
def test_bad_codes_are_refused(code: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="must start with a lowercase letter"):
        scaffold_plugin(tmp_path, code)


def test_existing_folder_needs_force(hoist: Any, tmp_path: Path) -> None:
    scaffold_plugin(tmp_path, "twice")
    with pytest.raises(ScaffoldError, match="not empty"):
        scaffold_plugin(tmp_path, "twice")
    assert scaffold_plugin(tmp_path, "twice", force=True).is_dir()
    again = hoist("new", "twice", "--dir", str(tmp_path))
    assert again.code == 2 and "--force" in again.err


def test_unknown_category_is_refused_by_the_cli(hoist: Any, tmp_path: Path) -> None:
    result = hoist("new", "x", "--category", "nonsense", "--dir", str(tmp_path))
    assert result.code == 2
