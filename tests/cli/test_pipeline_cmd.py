"""`hoist pipeline list|run|resume` with pipelines declared in config.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import HOIST
from tests.conftest import REPO
from tests.waiting import wait_until

CONFIG = """\
name: Flow
code: flow
actions:
  fetch:
    entrypoint: plugin.steps:Fetch
  double:
    entrypoint: plugin.steps:Double
  total:
    entrypoint: plugin.steps:Total
  slow:
    entrypoint: plugin.steps:Slow
pipelines:
  sum_flow:
    description: fetch numbers, double them, add them up
    actions: [fetch, double, total]
  fan:
    nodes:
      fetch: {action: fetch}
      each: {action: double, depends_on: [fetch], map_over: numbers, item_param: n,
             collect_as: doubled}
      total: {action: total, depends_on: [each]}
  slow_flow:
    actions: [fetch, slow, total]
  broken:
    actions: [fetch, nope]
"""

CODE = """
import os
import time
from pathlib import Path
from pydantic import BaseModel
from hoist import BaseAction


class FetchParams(BaseModel):
    count: int = 3


class Fetch(BaseAction[FetchParams]):
    def execute(self):
        return {"numbers": list(range(1, self.params.count + 1))}


class DoubleParams(BaseModel):
    numbers: list[int] = []
    n: int | None = None
    fail_file: str | None = None


class Double(BaseAction[DoubleParams]):
    def execute(self):
        if self.params.fail_file and Path(self.params.fail_file).exists():
            raise RuntimeError("asked to fail")
        if self.params.n is not None:
            return {"value": self.params.n * 2}
        return {"doubled": [{"value": n * 2} for n in self.params.numbers]}


class TotalParams(BaseModel):
    doubled: list[dict] = []


class Total(BaseAction[TotalParams]):
    def execute(self):
        return {"total": sum(d["value"] for d in self.params.doubled)}


class SlowParams(BaseModel):
    numbers: list[int] = []


class Slow(BaseAction[SlowParams]):
    def execute(self):
        for i in range(600):
            time.sleep(0.05)
            self.set_progress(i + 1, 600)
        return {"doubled": []}
"""


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    root = tmp_path / "flow"
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "steps.py").write_text(textwrap.dedent(CODE))
    return root


def test_list(hoist: Any, flow: Path) -> None:
    out = hoist("pipeline", "list", str(flow)).out
    assert "sum_flow: fetch numbers, double them, add them up" in out
    assert "fan:" in out


def test_run_sequence_and_dag(hoist: Any, flow: Path) -> None:
    seq = hoist("pipeline", "run", str(flow), "sum_flow", "-p", "count=4", "--json")
    assert seq.code == 0, seq.err
    assert seq.json()["result"]["total"] == 20
    fan = hoist("pipeline", "run", str(flow), "fan", "-p", "count=3", "-q")
    assert fan.code == 0, fan.err
    assert json.loads(fan.out)["total"] == 12
    (pipeline_run,) = [r for r in hoist("runs", "list", "--json").json()
                       if r["kind"] == "pipeline" and r["action"] == "fan"]  # fmt: skip
    tree = hoist("runs", "show", pipeline_run["id"]).out
    assert "fetch completed 100%" in tree and "each completed" in tree


def test_unknown_pipeline_and_broken_definition(hoist: Any, flow: Path) -> None:
    unknown = hoist("pipeline", "run", str(flow), "sum_flo")
    assert unknown.code == 2 and "did you mean 'sum_flow'" in unknown.err
    broken = hoist("pipeline", "run", str(flow), "broken")
    assert broken.code == 2
    assert "pipelines.broken.actions.1" in broken.err and "unknown action 'nope'" in broken.err
    assert f"{flow / 'config.yaml'}:25" in broken.err  # the line of `actions: [fetch, nope]`


def test_bad_first_params_exit_2(hoist: Any, flow: Path) -> None:
    result = hoist("pipeline", "run", str(flow), "sum_flow", "-p", "count=many")
    assert result.code == 2
    assert "fetch.count: must be an integer" in result.err


def test_failure_then_resume(hoist: Any, flow: Path, tmp_path: Path) -> None:
    flag = tmp_path / "fail"
    flag.write_text("x")
    failed = hoist("pipeline", "run", str(flow), "sum_flow", "-p", f"fail_file={flag}", "--json")
    assert failed.code == 1
    run_id = failed.json()["id"]
    flag.unlink()
    resumed = hoist("pipeline", "resume", run_id, "--json")
    assert resumed.code == 0, resumed.err
    assert resumed.json()["result"]["total"] == 12
    assert resumed.json()["meta"]["resume_of"] == run_id
    again = hoist("pipeline", "resume", resumed.json()["id"])
    assert again.code == 0 and "already succeeded; nothing to resume" in again.out
    changed = hoist("pipeline", "resume", run_id, "-p", "count=9", "--allow-param-changes")
    assert changed.code == 0, changed.err


def test_cancel_from_another_terminal(hoist_proc: Any, flow: Path, hoist_home: Path) -> None:
    proc = subprocess.Popen(
        [*HOIST, "pipeline", "run", str(flow), "slow_flow", "-q"],
        env={**os.environ, "HOIST_HOME": str(hoist_home)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:

        def slow_running() -> list[dict[str, Any]]:
            listed: list[dict[str, Any]] = json.loads(
                hoist_proc("runs", "list", "--json").out or "[]"
            )
            running = any(r["action"] == "slow" and r["status"] == "running" for r in listed)
            return listed if running else []

        listed = wait_until(slow_running, timeout=30, what="the slow action to start", poll=0.1)
        pipeline_run = next(r for r in listed if r["kind"] == "pipeline")
        cancel = hoist_proc("runs", "cancel", pipeline_run["id"])
        assert cancel.code == 0
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    statuses = {
        r["action"]: r["status"] for r in json.loads(hoist_proc("runs", "list", "--json").out)
    }
    assert statuses == {"slow_flow": "cancelled", "slow": "cancelled", "fetch": "succeeded"}
