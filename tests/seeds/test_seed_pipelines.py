"""The plugin-system seed's "Remote Pipeline Execution" page, as written (004_*): only
the import lines differ. A real Ray cluster (``ray_address='auto'`` finds it through
``RAY_ADDRESS``), a real Hoist server as the pipeline service, and a plugin folder
shipped to the cluster as ``working_dir``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.runs.models import RunKind, RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime
from tests.conftest import write_files
from tests.server.conftest import LiveServer, serve, server_settings

PLUGIN_CONFIG = """\
name: Seed flow
code: seedflow
actions:
  download:
    entrypoint: seedflow_actions.steps:DownloadAction
  convert:
    entrypoint: seedflow_actions.steps:ConvertAction
  train:
    entrypoint: seedflow_actions.steps:TrainAction
"""

PLUGIN_STEPS = """
from pathlib import Path
from pydantic import BaseModel
from hoist import BaseAction

FAIL_ONCE = Path({marker!r})


class DatasetParams(BaseModel):
    dataset_id: int


class DownloadAction(BaseAction[DatasetParams]):
    def execute(self):
        self.set_progress(1, 1)
        return {{"path": f"/data/{{self.params.dataset_id}}"}}


class ConvertParams(BaseModel):
    path: str


class ConvertAction(BaseAction[ConvertParams]):
    def execute(self):
        return {{"converted": self.params.path + ".yolo"}}


class TrainParams(BaseModel):
    converted: str
    dataset_id: int


class TrainAction(BaseAction[TrainParams]):
    def execute(self):
        if FAIL_ONCE.exists():  # a transient failure: the next attempt succeeds
            FAIL_ONCE.unlink()
            raise RuntimeError("GPU went away")
        self.log_message("trained")
        return {{"model": f"model-{{self.params.dataset_id}}", "from": self.params.converted}}
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plugin folder; its package is importable here, as the seed's actions are."""
    root = write_files(tmp_path / "seedflow", {
        "config.yaml": PLUGIN_CONFIG, "seedflow_actions/__init__.py": "",
        "seedflow_actions/steps.py": PLUGIN_STEPS.format(marker=str(tmp_path / "fail-once")),
    })  # fmt: skip
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [m for m in sys.modules if m.startswith("seedflow_actions")]:
        del sys.modules[name]


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """A Hoist server with its own store (not this process's), and the operator's worker
    token the seed's code finds in ``HOIST_TOKEN`` (its actors post the runs)."""
    with serve(server_settings(tmp_path / "server-home")) as live:
        monkeypatch.setenv("HOIST_TOKEN", live.token("operator", worker=True))
        yield live


@pytest.fixture
def ray_auto(ray_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ray_address='auto'`` joins the running cluster that ``RAY_ADDRESS`` names."""
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)


def _node_runs(live: LiveServer, run_id: str) -> dict[str, Any]:
    children = live.state.store.list_runs(RunFilter(parent_id=run_id, limit=100))
    return {run.meta["node"]: run for run in children}


def test_quick_start_runs_as_written(
    plugin: Path, service: LiveServer, ray_auto: None, hoist_home: Path
) -> None:
    from seedflow_actions.steps import ConvertAction, DownloadAction, TrainAction

    from hoist.pipelines import (
        ActionPipeline,
        RayPipelineExecutor,
        display_progress,
        display_progress_async,
    )

    pipeline = ActionPipeline([DownloadAction, ConvertAction, TrainAction])
    executor = RayPipelineExecutor(
        ray_address="auto",
        working_dir=str(plugin),
        pipeline_service_url=service.url,
    )
    try:
        # Remote execution
        run_id = pipeline.submit({"dataset_id": 123}, executor)
        progress = executor.get_progress(run_id)
        result = pipeline.wait(run_id, executor)

        # Stream progress with Rich display (sync)
        final = display_progress(executor.stream_progress(run_id))

        # Stream progress with Rich display (async)
        async def follow() -> Any:
            return await display_progress_async(executor.stream_progress_async(run_id))

        final_async = asyncio.run(follow())
        got = executor.get_result(run_id)
    finally:
        executor.shutdown()

    assert progress.run_id == run_id and [a.key for a in progress.actions] == [
        "download", "convert", "train",
    ]  # fmt: skip
    assert result["model"] == "model-123" and result["from"] == "/data/123.yolo"
    assert final.status is RunStatus.SUCCEEDED and final.overall == 100
    assert [a.status for a in final.actions] == ["completed"] * 3
    assert final_async == final
    assert got == result
    # The runs were reported to the pipeline service, not to this process's store.
    assert service.state.store.get_run(run_id).status is RunStatus.SUCCEEDED
    assert set(_node_runs(service, run_id)) == {"download", "convert", "train"}
    from hoist.runs.runtime import get_runtime

    assert get_runtime().store.list_runs(RunFilter(limit=10)) == []


def test_resume_from_a_failed_run_as_written(
    plugin: Path, service: LiveServer, ray_auto: None, tmp_path: Path
) -> None:
    from seedflow_actions.steps import ConvertAction, DownloadAction, TrainAction

    from hoist import ActionFailedError
    from hoist.pipelines import ActionPipeline, RayPipelineExecutor

    (tmp_path / "fail-once").write_text("x")
    pipeline = ActionPipeline([DownloadAction, ConvertAction, TrainAction])
    executor = RayPipelineExecutor(
        ray_address="auto",
        working_dir=str(plugin),
        pipeline_service_url=service.url,
    )
    try:
        run_id = pipeline.submit({"dataset_id": 123}, executor)
        with pytest.raises(ActionFailedError, match="GPU went away"):
            pipeline.wait(run_id, executor)

        # Resume from a failed run
        new_run_id = pipeline.submit({"dataset_id": 123}, executor, resume_from=run_id)
        result = pipeline.wait(new_run_id, executor)
        progress = executor.get_progress(new_run_id)
    finally:
        executor.shutdown()

    assert result["model"] == "model-123"
    assert new_run_id != run_id
    assert [(a.key, a.status) for a in progress.actions] == [
        ("download", "skipped"), ("convert", "skipped"), ("train", "completed"),
    ]  # fmt: skip
    store = service.state.store
    assert store.get_run(run_id).status is RunStatus.FAILED
    assert store.get_run(new_run_id).meta["resume_of"] == run_id
    assert set(_node_runs(service, new_run_id)) == {"train"}  # nothing ran twice


def test_troubleshooting_snippet_actor_url_and_sdk(
    plugin: Path, service: LiveServer, ray_cluster: Any
) -> None:
    """The actor reports to ``actor_pipeline_service_url`` (here the server's loopback
    address; this process uses its ``localhost`` name); ``include_sdk`` ships Hoist."""
    from seedflow_actions.steps import ConvertAction, DownloadAction, TrainAction

    from hoist.pipelines import ActionPipeline, RayPipelineExecutor

    local_url = service.url.replace("127.0.0.1", "localhost")
    pipeline = ActionPipeline([DownloadAction, ConvertAction, TrainAction])
    executor = RayPipelineExecutor(
        ray_address=ray_cluster.address,
        working_dir=str(plugin),
        pipeline_service_url=local_url,  # Local SDK access
        actor_pipeline_service_url=service.url,  # Actor access
        include_sdk=True,
    )
    try:
        run_id = pipeline.submit({"dataset_id": 7}, executor)
        result = executor.get_result(run_id)
        seen_here = executor.get_status(run_id)  # read through pipeline_service_url
        shipped = executor._placement(str(plugin))[1]  # the runtime env the actors got
    finally:
        executor.shutdown()

    assert result["model"] == "model-7"
    assert seen_here is RunStatus.SUCCEEDED
    assert service.state.store.get_run(run_id).status is RunStatus.SUCCEEDED
    [sdk] = shipped["py_modules"]  # this Hoist, uploaded for the actors
    assert sdk.startswith("gcs://")


def test_local_execution_as_written(plugin: Path, runtime: Runtime) -> None:
    """The Quick Start's last lines: ``pipeline.execute(params, ctx)`` runs the pipeline
    here; from inside a run (``ctx`` its context) the pipeline run is that run's child."""
    from seedflow_actions.steps import ConvertAction, DatasetParams, DownloadAction, TrainAction

    from hoist import BaseAction
    from hoist.executors.local import LocalExecutor
    from hoist.pipelines import ActionPipeline

    pipeline = ActionPipeline([DownloadAction, ConvertAction, TrainAction])

    class Orchestrate(BaseAction[DatasetParams]):
        def execute(self) -> Any:
            params = {"dataset_id": self.params.dataset_id}
            ctx = self.ctx
            # Local execution (unchanged)
            result = pipeline.execute(params, ctx)
            return result

    result = LocalExecutor(runtime=runtime).execute(Orchestrate, {"dataset_id": 123})

    assert result["model"] == "model-123" and result["from"] == "/data/123.yolo"
    runtime.sink.flush()
    (outer,) = [run for run in runtime.store.list_runs() if run.parent_id is None]
    (inner,) = runtime.store.list_runs(RunFilter(parent_id=outer.id, limit=10))
    assert (outer.status, inner.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    assert inner.kind is RunKind.PIPELINE and inner.mode == "local"
    nodes = runtime.store.list_runs(RunFilter(parent_id=inner.id, limit=10))
    assert {run.meta["node"] for run in nodes} == {"download", "convert", "train"}


def test_a_service_url_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from hoist.errors import UserInputError
    from hoist.pipelines import RayPipelineExecutor

    monkeypatch.delenv("HOIST_TOKEN", raising=False)
    with pytest.raises(UserInputError, match="needs an API token"):
        RayPipelineExecutor(pipeline_service_url="http://localhost:8100")
