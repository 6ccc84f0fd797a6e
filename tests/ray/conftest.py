"""The test plugin Ray tests run (the session's Ray head, ``ray_cluster``, lives in
tests/conftest.py: one cluster per process, shared with the executor contract suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_files

PLUGIN_CONFIG = """\
name: Calc
code: calc
requirements: []
actions:
  add:
    entrypoint: plugin.actions:AddAction
  boom:
    entrypoint: plugin.actions:Boom
  slow:
    entrypoint: plugin.actions:Slow
  shout:
    entrypoint: plugin.functions:shout
  needs_missing:
    entrypoint: plugin.heavy:NeedsMissing
"""

PLUGIN_ACTIONS = """
import importlib.util
import os
import time
from pydantic import BaseModel
from hoist import BaseAction


class AddParams(BaseModel):
    a: int = 1
    b: int = 2


class AddResult(BaseModel):
    total: int
    pid: int


class AddAction(BaseAction[AddParams]):
    result_model = AddResult

    def execute(self):
        self.set_progress(1, 2)
        self.log_message("adding in a worker")
        self.set_progress(2, 2)
        return AddResult(total=self.params.a + self.params.b, pid=os.getpid())


class BoomError(Exception):
    pass


class Boom(BaseAction[AddParams]):
    def execute(self):
        raise BoomError(f"boom {self.params.a}")


class SlowParams(BaseModel):
    seconds: float = 30


class Slow(BaseAction[SlowParams]):
    def execute(self):
        deadline = time.monotonic() + self.params.seconds
        i = 0
        while time.monotonic() < deadline:
            i += 1
            self.set_progress(i, 10_000)
            time.sleep(0.02)
        return {"pid": os.getpid()}
"""

PLUGIN_FUNCTIONS = """
from pydantic import BaseModel
from hoist import action


class ShoutParams(BaseModel):
    text: str = "hi"


@action(name="shout", params=ShoutParams)
def shout(params, context):
    return {"out": params.text.upper() + "!"}
"""

PLUGIN_HEAVY = """
import module_that_is_not_installed_anywhere
from hoist import BaseAction


class NeedsMissing(BaseAction):
    def execute(self):
        return {}
"""


@pytest.fixture
def calc_plugin(tmp_path: Path) -> Path:
    return write_files(tmp_path / "calc", {
        "config.yaml": PLUGIN_CONFIG, "plugin/__init__.py": "",
        "plugin/actions.py": PLUGIN_ACTIONS, "plugin/functions.py": PLUGIN_FUNCTIONS,
        "plugin/heavy.py": PLUGIN_HEAVY,
    })  # fmt: skip
