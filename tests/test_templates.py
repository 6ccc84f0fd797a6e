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
from hoist.plugins.templates import (
    CATEGORIES_WITH_TEMPLATES,
    KINDS,
    TEMPLATE_CHOICES,
    ScaffoldError,
    scaffold_plugin,
)
from hoist.runs.models import RunStatus
from hoist.runs.sinks.memory import MemorySink


def test_every_category_has_a_template() -> None:
    assert set(CATEGORIES_WITH_TEMPLATES) == {c.value for c in PluginCategory}


@pytest.mark.parametrize("category", sorted(TEMPLATE_CHOICES))
def test_scaffold_runs_right_away(category: str, tmp_path: Path) -> None:
    root = scaffold_plugin(tmp_path, f"my_{category}", category=category, description="demo")
    config = load_config(root / "config.yaml")
    expected = KINDS[category][0] if category in KINDS else category
    assert config.category == expected and config.code == f"my_{category}"
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
    result = ran.json()["result"]
    assert result["metrics"]["accuracy"] > 0.5 and len(result["weights_sha256"]) == 64
    assert result["best_metric"] == "val_loss" and result["last_epoch"] == 2


def test_category_starters_use_the_category_bases(hoist: Any, tmp_path: Path) -> None:
    """train → checkpoints and resume; inference → warm model; dataset → convert."""
    made = hoist("new", "trainer", "--category", "train", "--dir", str(tmp_path))
    assert made.code == 0, made.err
    plugin = tmp_path / "trainer"
    assert (plugin / "plugin" / "train.py").is_file()
    assert not (plugin / "plugin" / "inference.py").exists()
    out = tmp_path / "out"
    executor = LocalExecutor(sink=MemorySink())
    params = {"epochs": 2, "sleep_per_epoch": 0, "output_dir": str(out)}
    first = run_plugin(plugin, "train", params, executor=executor)
    assert first.last_epoch == 2 and first.resumed_from is None
    more = run_plugin(plugin, "train", {**params, "epochs": 4}, executor=executor)
    assert more.resumed_from and more.epochs_run == 2 and more.last_epoch == 4

    scaffold_plugin(tmp_path, "scorer", category="inference")
    ran = [run_plugin(tmp_path / "scorer", "inference",
                      {"inputs": [1.0, 2.0], "weights_path": more.weights_path},
                      executor=executor) for _ in range(2)]  # fmt: skip
    assert [r.model_loaded for r in ran] == [True, False]
    assert ran[0].predictions == ran[1].predictions and len(ran[0].predictions) == 2

    scaffold_plugin(tmp_path, "data", category="dataset")
    converted = run_plugin(tmp_path / "data", "dataset", {"convert_to": "json"}, executor=executor)
    assert converted.converted_to == "json" and converted.files == 1


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
