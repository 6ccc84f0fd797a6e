"""RayPipelineExecutor: whole pipelines in a warm actor on a real local cluster."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from hoist import ActionFailedError, ParamsValidationError, RunCancelledError
from hoist.errors import RunLostError
from hoist.runs.models import RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime
from tests.conftest import write_files
from tests.waiting import wait_until

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
    def running() -> bool:
        current = executor.get_progress(run_id).current_action
        return current is not None and current.key == key

    wait_until(running, 60, f"node {key} to start")


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
    handle.cancel()
    with pytest.raises(RunCancelledError):
        handle.result(timeout=30)  # at its next cancellation point, not after 30 s of work
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


@pytest.fixture(params=["local", "task", "job"])
def any_executor(request: pytest.FixtureRequest, runtime: Runtime) -> Any:
    """Each executor kind: a pipeline runs on every one through the same call."""
    from hoist.executors.local import LocalExecutor
    from hoist.executors.ray.job import RayJobExecutor
    from hoist.executors.ray.task import RayActorExecutor

    if request.param == "local":
        ex: Any = LocalExecutor(runtime=runtime)
    else:
        cluster = request.getfixturevalue("ray_cluster")
        kind = RayActorExecutor if request.param == "task" else RayJobExecutor
        options = {"num_cpus": 0.25} if request.param == "task" else {}
        ex = kind(address=cluster.address, runtime=runtime, **options)
    yield ex
    ex.shutdown()


def test_every_executor_runs_a_pipeline_through_the_same_call(
    any_executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    """The engine drives the pipeline here; each action runs where the executor runs
    actions (this thread, a warm actor, a Ray Job), recorded as a child run."""
    from hoist.pipelines import ActionPipeline
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(calc_plugin)
    pipeline = ActionPipeline([plugin.load_action("add"), plugin.load_action("shout")])
    run_id = pipeline.submit({"a": 2, "b": 3, "text": "hey"}, any_executor)
    result = pipeline.wait(run_id, any_executor, timeout=180)
    assert result["total"] == 5 and result["out"] == "HEY!"
    assert (result["pid"] == os.getpid()) is (any_executor.mode == "local")
    pipeline_run = runtime.store.get_run(run_id)
    assert pipeline_run.status is RunStatus.SUCCEEDED and pipeline_run.mode == any_executor.mode

    def children() -> dict[str, Any]:  # a worker's own sink commits its run's end
        found = runtime.store.list_runs(RunFilter(parent_id=run_id))
        return {c.action: (c.mode, c.status) for c in found}

    wanted = {"add": (any_executor.mode, RunStatus.SUCCEEDED),
              "shout": (any_executor.mode, RunStatus.SUCCEEDED)}  # fmt: skip
    wait_until(lambda: children() == wanted, 30, "both node runs to succeed")
    assert any_executor.get_result(run_id) == result  # the seed's get_result, on any executor
