"""RayPipelineExecutor: whole pipelines in a warm actor on a real local cluster."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from hoist import ActionFailedError, ParamsValidationError, RunCancelledError
from hoist.errors import RunLostError
from hoist.runs.models import RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime
from tests.conftest import write_files

FLOW_CONFIG = """\
name: Flow
code: flow
actions:
  prepare:
    entrypoint: flow.actions:Prepare
  branch:
    entrypoint: flow.actions:Branch
  join:
    entrypoint: flow.actions:Join
  flaky:
    entrypoint: flow.actions:Flaky
  slow:
    entrypoint: flow.actions:Slow
"""

FLOW_ACTIONS = """
import os
import time
from pathlib import Path
from pydantic import BaseModel, Field
from hoist import BaseAction


class PrepareParams(BaseModel):
    n: int = Field(ge=1)
    marker_dir: str


class Prepare(BaseAction[PrepareParams]):
    def execute(self):
        with open(Path(self.params.marker_dir) / "prepare.count", "a") as fh:
            fh.write("x")
        self.set_progress(1, 1)
        return {"items": list(range(self.params.n)), "prepared_pid": os.getpid()}


class BranchParams(BaseModel):
    items: list[int]
    seconds: float = 1.0


class Branch(BaseAction[BranchParams]):
    def execute(self):
        start = time.time()
        time.sleep(self.params.seconds)
        key = self.ctx.extras.get("node", "branch") if hasattr(self.ctx, "extras") else "b"
        return {key: {"start": start, "end": time.time(), "pid": os.getpid(),
                      "total": sum(self.params.items)}}


class JoinParams(BaseModel):
    left: dict
    right: dict


class Join(BaseAction[JoinParams]):
    def execute(self):
        return {"joined": self.params.left["total"] + self.params.right["total"],
                "join_pid": os.getpid()}


class FlakyParams(BaseModel):
    items: list[int]
    marker_dir: str


class Flaky(BaseAction[FlakyParams]):
    def execute(self):
        marker = Path(self.params.marker_dir) / "flaky.failed-once"
        if not marker.exists():
            marker.write_text("x")
            raise RuntimeError("flaky fails the first time")
        return {"count": len(self.params.items)}


class SlowParams(BaseModel):
    items: list[int]
    seconds: float = 60


class Slow(BaseAction[SlowParams]):
    def execute(self):
        deadline = time.monotonic() + self.params.seconds
        i = 0
        while time.monotonic() < deadline:
            i += 1
            self.set_progress(i, 100_000)
            time.sleep(0.02)
        return {"slow": i}
"""


@pytest.fixture
def flow_plugin(tmp_path: Path) -> Path:
    return write_files(tmp_path / "flowplug", {
        "config.yaml": FLOW_CONFIG, "flow/__init__.py": "", "flow/actions.py": FLOW_ACTIONS,
    })  # fmt: skip


@pytest.fixture
def executor(ray_cluster: Any, runtime: Runtime) -> Any:
    from hoist.pipelines import RayPipelineExecutor

    ex = RayPipelineExecutor(address=ray_cluster.address, runtime=runtime, num_cpus=0)
    yield ex
    ex.shutdown()


def _pipeline(plugin_root: Path, *second: str) -> Any:
    from hoist import ActionPipeline
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(plugin_root)
    return ActionPipeline(
        [plugin.load_action("prepare"), *(plugin.load_action(name) for name in second)],
        name="flow",
    )


def _wait_for_node(executor: Any, run_id: str, key: str) -> None:
    deadline = time.monotonic() + 60
    while (current := executor.get_progress(run_id).current_action) is None or (current.key != key):
        assert time.monotonic() < deadline, f"{key} never started"
        time.sleep(0.05)


def test_a_pipeline_runs_in_a_warm_actor_with_progress(
    executor: Any, flow_plugin: Path, runtime: Runtime, tmp_path: Path
) -> None:
    pipeline = _pipeline(flow_plugin, "flaky")
    (tmp_path / "flaky.failed-once").write_text("x")  # succeed at once
    handle = executor.submit(pipeline, {"n": 3, "marker_dir": str(tmp_path)})
    snapshots = list(executor.stream_progress(handle.run_id, interval=0.05))
    result = handle.result(timeout=60)
    assert result["count"] == 3 and result["prepared_pid"] != os.getpid()
    assert snapshots[-1].status is RunStatus.SUCCEEDED and snapshots[-1].overall == 100
    progress = executor.get_progress(handle.run_id)
    assert [a.status for a in progress.actions] == ["completed", "completed"]
    children = runtime.store.list_runs(RunFilter(parent_id=handle.run_id))
    assert {c.mode for c in children} == {"task"} and len(children) == 2
    assert executor.get_status(handle.run_id) is RunStatus.SUCCEEDED


def test_dag_branches_run_as_parallel_ray_tasks_with_their_resources(
    executor: Any, flow_plugin: Path, tmp_path: Path
) -> None:
    from hoist.pipelines import ActionPipeline, node
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(flow_plugin)
    branch = plugin.load_action("branch")
    pipeline = ActionPipeline([
        node(plugin.load_action("prepare"), "prepare"),
        node(branch, "left", depends_on="prepare", resources={"cpu": 1}),
        node(branch, "right", depends_on="prepare", resources={"cpu": 1}),
        node(plugin.load_action("join"), "join", depends_on=["left", "right"]),
    ], name="dag")  # fmt: skip
    handle = executor.submit(pipeline, {"n": 4, "marker_dir": str(tmp_path)})
    result = handle.result(timeout=120)
    left, right = result["left"], result["right"]
    assert result["joined"] == 12
    # Each branch ran in a Ray task of its own (not in the pipeline's actor), side by side.
    assert left["pid"] != right["pid"]
    assert result["join_pid"] not in (left["pid"], right["pid"])
    assert left["start"] < right["end"] and right["start"] < left["end"]


def test_bad_params_fail_before_anything_runs(
    executor: Any, flow_plugin: Path, runtime: Runtime
) -> None:
    with pytest.raises(ParamsValidationError) as info:
        executor.submit(_pipeline(flow_plugin, "flaky"), {"n": 0})
    assert set(info.value.field_errors) == {"prepare.n", "prepare.marker_dir"}
    assert runtime.store.list_runs() == []


def test_a_failed_pipeline_resumes_from_its_checkpoints(
    executor: Any, flow_plugin: Path, tmp_path: Path
) -> None:
    pipeline = _pipeline(flow_plugin, "flaky")
    params = {"n": 2, "marker_dir": str(tmp_path)}
    first = executor.submit(pipeline, params)
    with pytest.raises(ActionFailedError, match="flaky fails the first time"):
        first.result(timeout=60)
    assert executor.get_status(first.run_id) is RunStatus.FAILED
    second = executor.submit(pipeline, None, resume_from=first.run_id)
    assert second.result(timeout=60)["count"] == 2
    assert (tmp_path / "prepare.count").read_text() == "x"  # not run again


def test_cancel_a_running_pipeline(
    executor: Any, flow_plugin: Path, runtime: Runtime, tmp_path: Path
) -> None:
    handle = executor.submit(_pipeline(flow_plugin, "slow"), {"n": 1, "marker_dir": str(tmp_path)})
    _wait_for_node(executor, handle.run_id, "slow")
    started = time.monotonic()
    handle.cancel()
    with pytest.raises(RunCancelledError):
        handle.result(timeout=30)
    assert time.monotonic() - started < 5
    children = runtime.store.list_runs(RunFilter(parent_id=handle.run_id))
    assert {c.action: c.status for c in children}["slow"] is RunStatus.CANCELLED


def test_a_killed_actor_makes_the_pipeline_lost_and_resumable(
    executor: Any, flow_plugin: Path, runtime: Runtime, tmp_path: Path
) -> None:
    params = {"n": 1, "marker_dir": str(tmp_path), "seconds": 60}
    handle = executor.submit(_pipeline(flow_plugin, "slow"), params)
    _wait_for_node(executor, handle.run_id, "slow")
    ray = executor._connect()
    (actor,) = executor.actors()
    os.kill(ray.get(actor.pid.remote()), signal.SIGKILL)
    with pytest.raises(RunLostError):
        handle.result(timeout=30)
    assert runtime.store.get_run(handle.run_id).status is RunStatus.LOST
    resumed = executor.submit(
        _pipeline(flow_plugin, "slow"), {**params, "seconds": 0.1},
        resume_from=handle.run_id, allow_param_changes=True,
    )  # fmt: skip
    assert resumed.result(timeout=60)["slow"] >= 1
    assert (tmp_path / "prepare.count").read_text() == "x"
