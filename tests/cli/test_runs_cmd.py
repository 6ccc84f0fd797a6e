"""`hoist runs list|show|logs|events|cancel` on runs recorded in the store."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel

from hoist.errors import ActionFailedError, RunCancelledError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.runs.runtime import Runtime
from hoist.runs.short_ids import short_id
from tests.waiting import wait_until


class P(BaseModel):
    n: int = 3
    fail: bool = False
    delay: float = 0.0


class Work(BaseAction[P]):
    def execute(self) -> dict[str, int]:
        self.logger.info("working on %d", self.params.n)
        for i in range(self.params.n):
            time.sleep(self.params.delay)
            self.set_progress(i + 1, self.params.n)
        self.set_metrics({"loss": 0.25})
        self.log_message("all done")
        if self.params.fail:
            raise RuntimeError("kaput")
        return {"n": self.params.n}


def _record(runtime: Runtime, **params: Any) -> str:
    executor = LocalExecutor(runtime=runtime, progress_interval=0)
    prepared = executor.prepare(Work, params, plugin="demo")
    with contextlib.suppress(ActionFailedError):
        executor.execute_prepared(prepared)
    runtime.sink.flush()
    return prepared.run.id


def test_list_show_and_json(runtime: Runtime, hoist: Any) -> None:
    ok = _record(runtime)
    bad = _record(runtime, fail=True)
    listed = hoist("runs", "list", "--json")
    assert listed.code == 0
    assert [r["id"] for r in listed.json()] == [bad, ok]
    failed = hoist("runs", "list", "--status", "failed", "--json").json()
    assert [r["id"] for r in failed] == [bad]
    table = hoist("runs", "list")
    assert short_id(ok) in table.out and "succeeded" in table.out and "failed" in table.out
    shown = hoist("runs", "show", ok, "--json").json()
    assert shown["result"] == {"n": 3} and shown["params"]["n"] == 3
    text = hoist("runs", "show", bad)
    assert "RuntimeError: kaput" in text.out
    assert "progress 3" in text.out


def test_logs_and_events(runtime: Runtime, hoist: Any) -> None:
    run_id = _record(runtime, fail=True)
    logs = hoist("runs", "logs", run_id)
    assert "working on 3" in logs.out and "all done" in logs.out
    assert "Traceback" in logs.out and "kaput" in logs.out
    events = hoist("runs", "events", run_id, "--json")
    lines = [__import__("json").loads(line) for line in events.out.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert {e["type"] for e in lines} >= {"status", "log", "progress", "metrics", "error"}
    only = hoist("runs", "events", run_id, "--type", "metrics", "--json")
    assert len(only.out.splitlines()) == 1
    after = hoist("runs", "events", run_id, "--after", str(len(lines) - 1), "--json")
    assert len(after.out.splitlines()) == 1


def test_follow_tails_a_live_run(runtime: Runtime, hoist: Any) -> None:
    executor = LocalExecutor(runtime=runtime, progress_interval=0)
    handle = executor.submit(Work, {"n": 20, "delay": 0.05})
    runtime.sink.flush()
    follower: dict[str, Any] = {}

    def follow() -> None:
        follower["result"] = hoist("runs", "events", handle.run_id, "--follow", "--json")

    thread = threading.Thread(target=follow)
    thread.start()
    handle.result(timeout=30)
    runtime.sink.flush()
    thread.join(timeout=30)
    assert not thread.is_alive()
    lines = follower["result"].out.splitlines()
    assert '"succeeded"' in lines[-1]
    assert sum('"progress"' in line for line in lines) == 20
    executor.shutdown()


def test_unknown_run_is_bad_input(hoist: Any) -> None:
    result = hoist("runs", "show", "does-not-exist")
    assert result.code == 2
    assert "unknown run 'does-not-exist'" in result.err


def test_cancel_command(runtime: Runtime, hoist: Any) -> None:
    done = _record(runtime)
    assert "already ended" in hoist("runs", "cancel", done).out
    executor = LocalExecutor(runtime=runtime)
    handle = executor.submit(Work, {"n": 2000, "delay": 0.005})

    def running() -> bool:
        runtime.sink.flush()
        return handle.status == "running"

    wait_until(running, what="the run to be recorded running")
    result = hoist("runs", "cancel", handle.run_id)
    assert result.code == 0 and "cancellation requested" in result.out
    with pytest.raises(RunCancelledError):
        handle.result(timeout=10)
    executor.shutdown()


def test_a_run_whose_worker_died_is_shown_lost(runtime: Runtime, hoist: Any) -> None:
    from hoist.runs.models import Run, RunStatus, StatusEvent

    run = Run(id="deadbeef0001", plugin="demo", action="work")
    stale = time.time() - 60
    runtime.store.write_batch(
        [run],
        [StatusEvent(run_id=run.id, seq=1, ts=stale, status=RunStatus.RUNNING)],
    )
    listed = hoist("runs", "list", "--json").json()
    assert [(r["id"], r["status"]) for r in listed] == [("deadbeef0001", "lost")]
    assert "no heartbeat" in hoist("runs", "show", "deadbeef0001").out


def test_the_cli_reaps_after_the_configured_silence(
    runtime: Runtime, hoist: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoist.runs.models import Run, RunStatus, StatusEvent

    monkeypatch.setenv("HOIST_STALE_AFTER", "3600")
    run = Run(id="deadbeef0003", plugin="demo", action="work")
    beat = time.time() - 60  # silent for a minute: alive for this configuration
    runtime.store.write_batch([run], [StatusEvent(run_id=run.id, seq=1, ts=beat,
                                                  status=RunStatus.RUNNING)])  # fmt: skip
    assert hoist("runs", "list", "--json").json()[0]["status"] == "running"
    assert "no heartbeat" not in hoist("runs", "show", run.id).out
    assert runtime.store.get_run(run.id).status is RunStatus.RUNNING
    monkeypatch.setenv("HOIST_STALE_AFTER", "30")
    assert hoist("runs", "list", "--json").json()[0]["status"] == "lost"


def test_waiting_on_a_dead_run_ends(runtime: Runtime) -> None:
    from hoist.executors.handle import RunHandle
    from hoist.runs.models import Run, RunStatus, StatusEvent

    run = Run(id="deadbeef0002")
    runtime.store.write_batch(
        [run],
        [StatusEvent(run_id=run.id, seq=1, ts=time.time() - 60, status=RunStatus.RUNNING)],
    )
    assert RunHandle.attach(run.id, runtime.store).wait(timeout=10).status == "lost"
