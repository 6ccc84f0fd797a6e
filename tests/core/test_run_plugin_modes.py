"""``run_plugin(path, action, params)`` with no ``mode=``: the action's ``method:`` in
config.yaml is the mode (``local`` when the config says nothing); ``method: serve`` on
an action that does not deploy itself is the clear :class:`ServeModeError`, and an
explicit mode always wins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import write_files
from tests.waiting import wait_until

from hoist import run_plugin
from hoist.errors import ServeModeError
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import get_runtime

CONFIG = """\
name: Modes
code: modes
actions:
  plain:
    entrypoint: plugin.actions:Where
  pinned_local:
    entrypoint: plugin.actions:Where
    method: local
  on_task:
    entrypoint: plugin.actions:Where
    method: task
  served:
    entrypoint: plugin.actions:Where
    method: serve
"""

ACTIONS = """
import os
from pydantic import BaseModel
from hoist import BaseAction


class Params(BaseModel):
    n: int = 1


class Where(BaseAction[Params]):
    def execute(self):
        return {"n": self.params.n, "pid": os.getpid()}
"""


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    return write_files(tmp_path / "modes", {
        "config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/actions.py": ACTIONS,
    })  # fmt: skip


def _recorded() -> list[Run]:
    runtime = get_runtime()
    runtime.sink.flush()
    return runtime.store.list_runs()


def test_no_method_runs_local(plugin: Path) -> None:
    result = run_plugin(plugin, "plain", {"n": 3})
    assert result == {"n": 3, "pid": os.getpid()}
    (run,) = _recorded()
    assert (run.action, run.mode, run.status) == ("plain", "local", RunStatus.SUCCEEDED)


def test_method_local_runs_local(plugin: Path) -> None:
    assert run_plugin(plugin, "pinned_local", {"n": 2})["pid"] == os.getpid()
    (run,) = _recorded()
    assert run.mode == "local"


def test_method_task_is_the_default_mode(
    plugin: Path, ray_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoist.runs.runtime import reset_runtime

    monkeypatch.setenv("HOIST_RAY_ADDRESS", ray_cluster.address)  # where task mode connects
    reset_runtime()
    # No mode: config.yaml's `method: task` picks it (a small actor, as the suite's are).
    result = run_plugin(plugin, "on_task", {"n": 5}, num_cpus=0.25)
    assert result["n"] == 5 and result["pid"] != os.getpid()  # a Ray worker ran it

    def ended() -> Run | None:
        (run,) = _recorded()
        return run if run.status.is_terminal else None

    run = wait_until(ended, 60, "the task run's end to be committed")
    assert (run.action, run.mode, run.status) == (
        "on_task", "task", RunStatus.SUCCEEDED,
    )  # fmt: skip
    # The executor built for that call's options was shut down with its warm actor: the
    # cluster has its CPUs back (a leaked 0.25 starved later tests' 1-CPU tasks).
    import ray

    total = ray.cluster_resources()["CPU"]
    wait_until(lambda: ray.available_resources().get("CPU") == total, 60, "the CPUs back")


def test_method_serve_on_a_plain_action_is_a_serve_mode_error(plugin: Path) -> None:
    with pytest.raises(ServeModeError) as info:
        run_plugin(plugin, "served", {"n": 1})
    message = str(info.value)
    assert "action 'served' of plugin 'modes' is declared 'method: serve'" in message
    assert "give a mode" in message and "unknown mode" not in message
    assert _recorded() == []  # nothing ran


def test_an_explicit_mode_wins_over_method(plugin: Path) -> None:
    assert run_plugin(plugin, "served", {"n": 7}, mode="local")["n"] == 7
    (run,) = _recorded()
    assert (run.action, run.mode) == ("served", "local")
