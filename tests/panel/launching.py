"""A plugin for the launch, run again and retry tests (an action that can fail, one with
a secret param, one with a wide result, and a configured pipeline), and a live panel
serving it besides the examples and ``paneltest``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_files
from tests.panel.conftest import write_plugin
from tests.server.conftest import LiveServer, serve, server_settings

__all__ = ["CODE", "panel", "write_launch_plugin"]

CODE = "launchtest"

CONFIG = """\
name: Launch Test
code: launchtest
version: 0.1.0
category: export
description: Actions and a pipeline for the launch tests
requirements: []
actions:
  greet:
    entrypoint: plugin.actions:Greet
    description: Greet someone (or fail on purpose)
  shout:
    entrypoint: plugin.actions:Shout
    description: Shout the greeting
  keyed:
    entrypoint: plugin.actions:Keyed
    description: Needs a secret token
  wide:
    entrypoint: plugin.actions:Wide
    description: A result wider and longer than any screen
pipelines:
  flow:
    description: greet, then shout
    actions: [greet, shout]
"""

ACTIONS = """
from pydantic import BaseModel, Field, SecretStr
from hoist import BaseAction


class GreetParams(BaseModel):
    name: str = Field("world", max_length=40, description="Who to greet")
    times: int = Field(1, gt=0, le=5, description="How many times")
    rate: float = Field(1.0, gt=0, le=10, description="Any positive number")
    fail: bool = Field(False, description="Fail on purpose")


class Greet(BaseAction[GreetParams]):
    def execute(self):
        if self.params.fail:
            raise RuntimeError(f"asked to fail for {self.params.name}")
        return {"greeting": " ".join([f"hello {self.params.name}"] * self.params.times)}


class ShoutParams(BaseModel):
    greeting: str = "nothing"


class Shout(BaseAction[ShoutParams]):
    def execute(self):
        return {"shout": self.params.greeting.upper()}


class KeyedParams(BaseModel):
    token: SecretStr = Field(description="A secret")
    n: int = Field(1, ge=1)


class Keyed(BaseAction[KeyedParams]):
    def execute(self):
        return {"token_length": len(self.params.token.get_secret_value()), "n": self.params.n}


class WideParams(BaseModel):
    rows: int = Field(80, ge=1, le=1000)


class Wide(BaseAction[WideParams]):
    def execute(self):
        rows = range(self.params.rows)
        return {"rows": [{"key": f"k{i}", "value": "wide-" * 60} for i in rows]}
"""


def write_launch_plugin(root: Path) -> Path:
    """The ``launchtest`` plugin under ``root``."""
    return write_files(root / CODE, {
        "config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/actions.py": ACTIONS,
    })  # fmt: skip


@pytest.fixture
def panel(hoist_home: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server with the panel, serving the examples, ``paneltest`` and
    ``launchtest`` (no Ray cluster configured: the panel offers local mode only)."""
    plugins = tmp_path / "plugins"
    write_plugin(plugins)
    write_launch_plugin(plugins)
    settings = server_settings(hoist_home)
    settings = settings.with_(plugin_paths=(*settings.plugin_paths, plugins))
    with serve(settings, keepalive=0.5) as live:
        yield live
