"""Progress derived from the log, streamed, and drawn (sync and async)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from actions import Convert, Download, Train  # type: ignore[import-not-found]
from rich.console import Console

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.pipelines import (
    ActionPipeline,
    display_progress,
    display_progress_async,
    node,
    pipeline_progress,
    stream_progress,
    stream_progress_async,
)
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime


def _submit(runtime: Runtime) -> tuple[ActionPipeline, str, LocalExecutor]:
    executor = LocalExecutor(runtime=runtime)
    pipeline = ActionPipeline([Download, Convert, Train], name="flow")
    run_id = pipeline.submit({"dataset_id": 2, "delay": 0.05, "epochs": 4}, executor)
    return pipeline, run_id, executor


def test_stream_ends_with_the_final_state(runtime: Runtime) -> None:
    _, run_id, executor = _submit(runtime)
    states = list(stream_progress(runtime.store, run_id, interval=0.02, flush=executor.sink.flush))
    final = states[-1]
    assert final.status is RunStatus.SUCCEEDED and final.overall == 100.0
    assert [a.status for a in final.actions] == ["completed"] * 3
    assert final.actions[2].metrics == {"loss": 0.25}
    overall = [s.overall for s in states]
    assert overall == sorted(overall) and len(states) > 2  # it moved while we watched
    assert any(a.status == "running" for s in states for a in s.actions)


def test_display_sync_and_async_draw_every_action(runtime: Runtime) -> None:
    _, run_id, executor = _submit(runtime)
    out = io.StringIO()
    final = display_progress(
        stream_progress(runtime.store, run_id, interval=0.02, flush=executor.sink.flush),
        Console(file=out, width=120),
    )
    assert final is not None and final.status is RunStatus.SUCCEEDED
    text = out.getvalue()
    assert "pipeline flow succeeded" in text
    for key in ("download", "convert", "train"):
        assert key in text

    _, run_id, executor = _submit(runtime)
    executor.sink.flush()

    async def watch() -> Any:
        stream = stream_progress_async(runtime.store, run_id, interval=0.02)
        return await display_progress_async(stream, Console(file=io.StringIO(), width=120))

    result = asyncio.run(watch())
    assert result.status is RunStatus.SUCCEEDED and result.overall == 100.0


def test_progress_of_a_failed_run_names_the_error(runtime: Runtime) -> None:
    executor = LocalExecutor(runtime=runtime)
    pipeline = ActionPipeline([Download, node(Convert, params={"path": "/nope"})])
    with pytest.raises(ActionFailedError):
        pipeline.execute({"dataset_id": 1}, executor=executor)
    runtime.sink.flush()
    (run,) = [r for r in runtime.store.list_runs() if r.kind == "pipeline"]
    state = pipeline_progress(runtime.store, run.id)
    assert state.status is RunStatus.FAILED
    assert [a.status for a in state.actions] == ["completed", "failed"]
    assert state.actions[1].error is not None and "FileNotFoundError" in state.actions[1].error
