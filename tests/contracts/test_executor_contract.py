"""The executor contract: the same bodies run against every executor (local, task,
job). A new executor joins by adding itself to the ``place`` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hoist.errors import (
    ActionFailedError,
    ParamsValidationError,
    ResultValidationError,
    RunCancelledError,
    RunNotFoundError,
)
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import Runtime
from tests.contracts.conftest import Place, kill_worker_of
from tests.waiting import wait_until


def _total(place: Place, result: Any) -> int:
    return int(result.total if place.typed_results else result["total"])


def _ended(runtime: Runtime, run_id: str) -> Run:
    """The run's record once its terminal status is committed (maybe by another process)."""

    def ended() -> Run | None:
        runtime.sink.flush()
        run = runtime.store.get_run(run_id)
        return run if run.status.is_terminal else None

    return wait_until(ended, 60, f"run {run_id} to end")


def test_success_returns_the_result_and_records_the_run(place: Place, runtime: Runtime) -> None:
    result = place.executor.execute("add", {"a": 2, "b": 3})
    assert _total(place, result) == 5
    place.executor.sink.flush()  # what this process emitted is committed
    (listed,) = runtime.store.list_runs()
    run = _ended(runtime, listed.id)
    assert (run.status, run.mode, run.plugin, run.action) == (
        RunStatus.SUCCEEDED, place.mode, "calc", "add",
    )  # fmt: skip
    assert run.result is not None and run.result["total"] == 5


def test_events_arrive_in_order(place: Place, runtime: Runtime) -> None:
    handle = place.executor.submit("add", {"a": 1})
    assert handle.status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCEEDED)
    handle.result(timeout=120)
    run = _ended(runtime, handle.run_id)
    events = runtime.store.events(run.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    types = [e.type for e in events]
    assert types[0] == "status" and events[0].status is RunStatus.RUNNING  # type: ignore[union-attr]
    assert types[-2:] == ["result", "status"]
    assert events[-1].status is RunStatus.SUCCEEDED  # type: ignore[union-attr]
    assert types.count("progress") == 2 and "message" in types


def test_a_submitted_run_is_readable_at_once_by_any_reader(place: Place, runtime: Runtime) -> None:
    """What a server's launch promises: the id it returns can be read at once, from the
    store (another process), before any worker has recorded the run."""
    handle = place.executor.submit("add", {"a": 1})
    place.executor.sink.flush()
    assert runtime.store.get_run(handle.run_id).action == "add"
    handle.result(timeout=120)


def test_bad_params_name_every_field(place: Place) -> None:
    with pytest.raises(ParamsValidationError) as info:
        place.executor.execute("add", {"a": "x", "b": "y"})
    assert set(info.value.field_errors) == {"a", "b"}
    assert "integer" in info.value.field_errors["a"][0]


def test_an_action_error_keeps_its_own_type(place: Place, runtime: Runtime) -> None:
    with pytest.raises(ActionFailedError) as info:
        place.executor.execute("boom", {"a": 9})
    assert info.value.error_type == "plugin.actions.BoomError"
    assert info.value.error_message == "boom 9"
    assert info.value.traceback.count("Traceback (most recent call last)") == 1
    assert _ended(runtime, info.value.run_id).status is RunStatus.FAILED


def test_cancel_a_running_action(place: Place, runtime: Runtime) -> None:
    handle = place.executor.submit("slow", {"seconds": 60})
    wait_until(lambda: handle.status is RunStatus.RUNNING, 90, "the action to start")
    handle.cancel()
    with pytest.raises(RunCancelledError):
        handle.result(timeout=30)
    assert _ended(runtime, handle.run_id).status is RunStatus.CANCELLED


def test_an_async_action_is_awaited(place: Place, runtime: Runtime) -> None:
    result = place.executor.execute("add_async", {"a": 20, "b": 22})
    assert _total(place, result) == 42
    place.executor.sink.flush()
    (run,) = runtime.store.list_runs()
    assert _ended(runtime, run.id).result["total"] == 42  # type: ignore[index]


def test_a_result_that_does_not_match_its_model_fails_the_run(
    place: Place, runtime: Runtime
) -> None:
    with pytest.raises(ResultValidationError) as info:
        place.executor.execute("bad_result", {})
    assert "count" in info.value.field_errors
    run = _ended(runtime, info.value.run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "ResultValidationError"


def test_a_killed_worker_ends_the_run_lost(place: Place, runtime: Runtime, tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    run_id = place.start_doomed({"path": str(pid_file)})

    def running() -> bool:
        runtime.sink.flush()
        try:
            return runtime.store.get_run(run_id).status is RunStatus.RUNNING
        except RunNotFoundError:
            return False  # its worker has not committed it yet

    wait_until(running, 90, "the action to start")
    kill_worker_of(pid_file)

    def lost() -> bool:
        # What a server or `hoist runs list` does: a run whose worker stopped
        # heartbeating is lost (the Ray executors notice the death themselves first).
        runtime.store.reap_stale(stale_after=2.0)
        return runtime.store.get_run(run_id).status is RunStatus.LOST

    wait_until(lost, 60, "the run to be marked lost")
    assert [e.type for e in runtime.store.events(run_id)][-2:] == ["error", "status"]
