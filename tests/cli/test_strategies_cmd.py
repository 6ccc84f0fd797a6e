"""`hoist strategies list|explain` on the built-in strategies and on strategy folders
written on the fly (one of them broken)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deployment.conftest import write_strategy


@pytest.fixture
def extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A strategy folder root with a working ``mine`` and a ``broken`` missing its
    selector instruction, on ``HOIST_STRATEGY_PATHS``."""
    root = tmp_path / "strategies"
    write_strategy(root, "mine")
    write_strategy(root, "broken", selector=None)
    monkeypatch.setenv("HOIST_STRATEGY_PATHS", str(root))
    return root


def test_list_shows_the_strategies_and_the_broken_ones(hoist: Any, extra: Path) -> None:
    result = hoist("strategies", "list", "--json")
    assert result.code == 0, result.err
    data = result.json()
    names = {s["name"]: s for s in data["strategies"]}
    assert {"local", "process", "mine"} <= set(names)
    assert names["local"]["provider"] == "local"
    assert names["mine"]["description"] == "My custom deployment strategy"
    (broken,) = data["broken"]
    assert broken["name"] == "broken" and "selector_instruction" in broken["error"]
    text = hoist("strategies", "list")
    assert text.code == 0
    assert "process" in text.out and "mine" in text.out
    assert "broken strategy broken" in text.err and "selector_instruction" in text.err


def test_explain_prints_the_selector_instruction_and_config(hoist: Any) -> None:
    result = hoist("strategies", "explain", "process")
    assert result.code == 0, result.err
    assert "config.yaml" in result.out and "runner_class: ProcessRunner" in result.out
    data = hoist("strategies", "explain", "local", "--json").json()
    assert data["config"]["runner_class"] == "LocalRunner"
    selector = Path(data["path"]) / "selector_instruction.md"
    assert data["selector_instruction"] == selector.read_text().strip()
    assert "Summary" in hoist("strategies", "explain", "local").out


def test_explain_an_unknown_strategy_is_bad_input(hoist: Any) -> None:
    result = hoist("strategies", "explain", "proces")
    assert result.code == 2
    assert "unknown strategy 'proces'" in result.err
    assert "did you mean 'process'" in result.err and "local" in result.err


def test_explain_a_broken_strategy_names_the_missing_file(hoist: Any, extra: Path) -> None:
    result = hoist("strategies", "explain", "broken")
    assert result.code == 2
    assert "selector_instruction" in result.err and "broken" in result.err
    assert "Traceback" not in result.err
