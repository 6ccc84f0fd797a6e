"""LocalExecutor: execute inline, submit on threads, handles, cancellation, the store."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import BaseModel
from tests.waiting import wait_until

from hoist.errors import ActionFailedError, RunCancelledError, UnknownModeError
from hoist.executors.handle import RunHandle
from hoist.executors.local import LocalExecutor
from hoist.executors.modes import executor_class
from hoist.plugins.action import BaseAction
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.memory import MemorySink


class SleepParams(BaseModel):
    steps: int = 5
    delay: float = 0.0
    fail: bool = False


class Sleeper(BaseAction[SleepParams]):
    def execute(self) -> dict[str, int]:
        for i in range(self.params.steps):
            time.sleep(self.params.delay)
            self.set_progress(i + 1, self.params.steps)
        if self.params.fail:
            raise ValueError("asked to fail")
        return {"steps": self.params.steps}


def test_submit_returns_a_handle() -> None:
    sink = MemorySink()
    with LocalExecutor(sink=sink) as executor:
        handle = executor.submit(Sleeper, {"steps": 3})
        assert isinstance(handle, RunHandle)
        assert handle.result(timeout=10) == {"steps": 3}
        assert handle.status is RunStatus.SUCCEEDED
        assert handle.done()
        assert handle.wait().result == {"steps": 3}
        assert [e.type for e in handle.events()][-1] == "status"


def test_submitted_failure_raises_from_result() -> None:
    with LocalExecutor(sink=MemorySink()) as executor:
        handle = executor.submit(Sleeper, {"fail": True})
        with pytest.raises(ActionFailedError, match="asked to fail"):
            handle.result(timeout=10)
        assert handle.status is RunStatus.FAILED


def test_cancel_a_running_submission() -> None:
    with LocalExecutor(sink=MemorySink()) as executor:
        handle = executor.submit(Sleeper, {"steps": 1000, "delay": 0.01})
        wait_until(lambda: handle.status is RunStatus.RUNNING, what="the run to start")
        handle.cancel()
        with pytest.raises(RunCancelledError):
            handle.result(timeout=10)
        assert handle.status is RunStatus.CANCELLED


def test_wait_times_out() -> None:
    with LocalExecutor(sink=MemorySink()) as executor:
        handle = executor.submit(Sleeper, {"steps": 50, "delay": 0.02})
        with pytest.raises(TimeoutError):
            handle.wait(timeout=0.05)
        handle.cancel()


def test_runs_are_recorded_in_the_store_by_default(runtime: Runtime) -> None:
    executor = LocalExecutor(progress_interval=0)
    assert executor.execute(Sleeper, {"steps": 2}) == {"steps": 2}
    runtime.sink.flush()
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.SUCCEEDED and run.mode == "local"
    types = [e.type for e in runtime.store.events(run.id)]
    assert types == ["status", "progress", "progress", "result", "status"]


def test_store_handle_attach_from_another_reader(runtime: Runtime) -> None:
    executor = LocalExecutor()
    handle = executor.submit(Sleeper, {"steps": 2})
    handle.result(timeout=10)
    runtime.sink.flush()
    attached = RunHandle.attach(handle.run_id, runtime.store)
    assert attached.wait(timeout=5).status is RunStatus.SUCCEEDED
    assert attached.result() == {"steps": 2}
    executor.shutdown()


def test_cancel_requested_through_the_store_reaches_the_run(runtime: Runtime) -> None:
    executor = LocalExecutor(sink=None)
    handle = executor.submit(Sleeper, {"steps": 2000, "delay": 0.005})

    def recorded_running() -> bool:
        runtime.sink.flush()
        return handle.status is RunStatus.RUNNING  # as the store has it (sink=None)

    wait_until(recorded_running, what="the store to record the run running")
    runtime.store.request_cancel(handle.run_id)  # as `hoist runs cancel` does
    with pytest.raises(RunCancelledError):
        handle.result(timeout=10)
    runtime.sink.flush()
    assert runtime.store.get_run(handle.run_id).status is RunStatus.CANCELLED
    executor.shutdown()


def test_concurrent_submissions_overlap() -> None:
    meet = threading.Barrier(4)  # passed only if all four run at the same time

    class Meet(BaseAction[SleepParams]):
        def execute(self) -> dict[str, int]:
            return {"arrived": meet.wait(timeout=30)}

    with LocalExecutor(sink=MemorySink(), max_workers=4) as executor:
        handles = [executor.submit(Meet, {}) for _ in range(4)]
        arrivals = sorted(h.result(timeout=60)["arrived"] for h in handles)
    assert arrivals == [0, 1, 2, 3] and not meet.broken


def test_unknown_mode() -> None:
    with pytest.raises(UnknownModeError, match="choose one of: job, local, task"):
        executor_class("warp")


def test_handle_answers_from_the_moment_it_exists() -> None:
    """Found in use: reading a fresh handle raised RunNotFoundError before the store
    sink had written the run. Every read answers (``queued`` until recorded)."""
    gate = threading.Event()

    class Gated(BaseAction[SleepParams]):
        def execute(self) -> int:
            gate.wait(30)
            return 1

    with LocalExecutor(max_workers=1) as executor:  # the real store sink (SQLite)
        blocker = executor.submit(Gated, {})
        for _ in range(20):
            handle = executor.submit(Sleeper, {"steps": 1})
            assert handle.status in (RunStatus.QUEUED, RunStatus.RUNNING)
            assert handle.run.id == handle.run_id
            assert handle.run_id in repr(handle)
            assert not handle.done()
        gate.set()
        assert blocker.result(30) == 1
        assert handle.result(30) == {"steps": 1}
        assert handle.status is RunStatus.SUCCEEDED


def test_a_run_that_ended_here_reads_as_the_store_will_record_it() -> None:
    """``RunHandle.ended_here()`` answers a run's final record from what this process
    wrote (no store read, no commit waited for: MCP answers quick calls with it): once
    the sink's writes land, the store's record is the same, for a run that succeeded,
    failed or was cancelled while it ran."""
    gate = threading.Event()

    class Fails(BaseAction[SleepParams]):
        def execute(self) -> None:
            raise ValueError("no good")

    class Waits(BaseAction[SleepParams]):
        def execute(self) -> None:
            gate.wait(30)
            self.ctx.check_cancelled()

    with LocalExecutor(max_workers=2) as executor:
        ok, bad, stopped = (executor.submit(c, {"steps": 2}) for c in (Sleeper, Fails, Waits))
        assert stopped.ended_here() is None  # still running
        wait_until(lambda: stopped.status is RunStatus.RUNNING)
        stopped.cancel()
        gate.set()
        for handle in (ok, bad, stopped):
            handle.future.exception(30)  # type: ignore[union-attr]
        answered = {h.run_id: h.ended_here() for h in (ok, bad, stopped)}
        executor.sink.flush()
        for handle in (ok, bad, stopped):
            run = answered[handle.run_id]
            assert run is not None
            assert run.to_dict() == executor.log.get_run(handle.run_id).to_dict()
        assert [answered[h.run_id].status for h in (ok, bad, stopped)] == [  # type: ignore[union-attr]
            RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED,
        ]  # fmt: skip
        assert answered[bad.run_id].error["message"] == "no good"  # type: ignore[index,union-attr]
        assert answered[ok.run_id].result == {"steps": 2}  # type: ignore[union-attr]
