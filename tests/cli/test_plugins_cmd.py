"""`hoist plugins list|show|sync` on real plugin folders."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

CONFIG = """\
# The calculator plugin: keep this comment
name: Calc
code: calc
version: 0.2.0
category: custom
actions:
  add:
    entrypoint: plugin.actions:AddAction  # the main action
"""

CODE = '''
import torch_that_is_not_installed  # heavy dependency missing on this machine
from pydantic import BaseModel, Field
from hoist import BaseAction


class AddParams(BaseModel):
    a: int = Field(..., description="first number")
    b: int = Field(0, ge=0, le=1024)


class AddAction(BaseAction[AddParams]):
    """Add two numbers."""

    def execute(self):
        return {"total": self.params.a + self.params.b}


class SubAction(BaseAction[AddParams]):
    """Subtract."""

    def execute(self):
        return {"total": self.params.a - self.params.b}
'''


@pytest.fixture
def heavy(tmp_path: Path) -> Path:
    root = tmp_path / "plugins" / "calc"
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "actions.py").write_text(textwrap.dedent(CODE))
    return root


def test_show_works_without_the_plugins_dependencies(hoist: Any, heavy: Path) -> None:
    result = hoist("plugins", "show", str(heavy), "--json")
    assert result.code == 0, result.err
    data = result.json()
    (add,) = data["actions"]
    assert add["source"] == "ast"
    params = {p["name"]: p for p in add["params"]}
    assert params["a"]["required"] and params["a"]["description"] == "first number"
    assert params["b"]["constraints"] == {"ge": 0, "le": 1024}
    text = hoist("plugins", "show", str(heavy))
    assert "does not import here" in text.out and "torch_that_is_not_installed" in text.out


def test_list_finds_plugins_and_reports_broken_ones(hoist: Any, heavy: Path) -> None:
    broken = heavy.parent / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text("name: Broken\ncode: broken\nactons: {}\n")
    result = hoist("plugins", "list", str(heavy.parent), "--json")
    assert [p["code"] for p in result.json()] == ["calc"]
    assert "broken plugin" in result.err and "actons" in result.err


def test_sync_adds_actions_and_keeps_comments(hoist: Any, heavy: Path) -> None:
    result = hoist("plugins", "sync", str(heavy), "--ast")
    assert result.code == 0, result.err
    assert "added: sub" in result.out
    text = (heavy / "config.yaml").read_text()
    assert text.startswith("# The calculator plugin: keep this comment\n")
    assert "entrypoint: plugin.actions:AddAction  # the main action" in text
    assert "plugin.actions:SubAction" in text
    again = hoist("plugins", "sync", str(heavy), "--ast")
    assert "up to date" in again.out


def test_show_an_unknown_plugin_is_bad_input(hoist: Any) -> None:
    result = hoist("plugins", "show", "/no/such/plugin")
    assert result.code == 2
    assert "unknown plugin" in result.err


def test_broken_config_names_file_line_and_key(hoist: Any, tmp_path: Path) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "config.yaml").write_text(
        "name: Bad\ncode: bad\nactions:\n  go:\n    entrypoint: plugin.x:Go\n    method: tsak\n"
    )
    result = hoist("plugins", "show", str(root))
    assert result.code == 2
    assert f"{root / 'config.yaml'}:6" in result.err
    assert "actions.go.method" in result.err and "tsak" in result.err
    assert "Traceback" not in result.err
