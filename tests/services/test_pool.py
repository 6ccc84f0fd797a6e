"""ServicePool: service executions in this process, on the test's real SQLite store, with
real threads and a real event loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from hoist.errors import EntryPointError, ServiceBusyError
from hoist.plugins.action import BaseAction
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import Runtime
from hoist.services.execution import Execution
from hoist.services.pool import ServicePool
from hoist.services.response import HTML, Markdown
from hoist.services.tracer import Tracer
from tests.services.conftest import ended, events, launch, recorded
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


class Report(BaseModel):
    title: str
    score: float


class ShoutError(Exception):
    pass


class Steps(BaseModel):
    n: int


class Stepper(BaseAction[Steps]):
    def execute(self) -> dict[str, int]:
        self.set_progress(self.params.n, self.params.n)
        if self.params.n < 0:
            raise ValueError("negative steps")
        return {"steps": self.params.n}


async def greet(inputs: dict[str, Any], tracer: Tracer) -> Markdown:
    await tracer.markdown(f"hello **{inputs['name']}**")
    await tracer.result(Report(title="draft", score=0.5))
    return Markdown(body=f"# Done, {inputs['name']}")


def report(inputs: dict[str, Any]) -> Report:
    return Report(title=inputs["title"], score=1.0)


def statuses(runtime: Runtime, run_id: str) -> list[str]:
    return [str(e.status) for e in events(runtime, run_id, "status")]


# ---------------------------------------------------------------------- results
def test_an_async_entry_point_succeeds_with_a_typed_result(
    runtime: Runtime, pool: ServicePool
) -> None:
    run_id = launch(pool, greet, {"name": "Ada"})
    run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == "# Done, Ada"
    assert statuses(runtime, run_id) == ["running", "succeeded"]
    outputs = [(e.format, e.body, e.model) for e in events(runtime, run_id, "output")]
    assert outputs == [
        ("markdown", "hello **Ada**", "Markdown"),
        ("json", {"title": "draft", "score": 0.5}, f"{__name__}.Report"),
    ]  # the result is not repeated as an output: the panel renders it by its model
    (result,) = events(runtime, run_id, "result")
    assert (result.value, result.model) == ("# Done, Ada", "Markdown")


def test_a_sync_entry_point_returns_a_pydantic_model(runtime: Runtime, pool: ServicePool) -> None:
    run_id = launch(pool, report, {"title": "final"})
    run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == {"title": "final", "score": 1.0}
    (result,) = events(runtime, run_id, "result")
    assert result.model == f"{__name__}.Report"
    assert events(runtime, run_id, "output") == []  # data is the result only


def test_html_and_plain_results(runtime: Runtime, pool: ServicePool) -> None:
    html = launch(pool, lambda: HTML(body="<b>bold</b>"))
    plain = launch(pool, lambda inputs: {"n": inputs["n"] + 1}, {"n": 1})
    assert ended(runtime, html).result == "<b>bold</b>"
    assert events(runtime, html, "output") == []
    assert events(runtime, html, "result")[0].model == "HTML"
    run = ended(runtime, plain)
    assert run.result == {"n": 2}
    assert events(runtime, plain, "result")[0].model is None


def test_entry_points_given_by_name(runtime: Runtime, pool: ServicePool) -> None:
    run_id = launch(pool, f"{__name__}:report", {"title": "by name"})
    assert ended(runtime, run_id).result == {"title": "by name", "score": 1.0}
    with pytest.raises(EntryPointError, match="has no attribute 'reprt'"):
        launch(pool, f"{__name__}:reprt")


def test_an_action_runs_as_the_action(runtime: Runtime, pool: ServicePool) -> None:
    run_id = launch(pool, Stepper, {"n": 3})
    run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == {"steps": 3}
    assert [e.current for e in events(runtime, run_id, "progress")] == [3]
    failing = launch(pool, Stepper, {"n": -1})
    run = ended(runtime, failing)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["message"] == "negative steps"


# ---------------------------------------------------------------------- failures
def test_an_exception_fails_the_run_with_its_message_and_traceback(
    runtime: Runtime, pool: ServicePool
) -> None:
    async def shout(inputs: Any) -> None:
        raise ShoutError("too loud")

    run = ended(runtime, launch(pool, shout))
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert run.error["type"] == f"{__name__}.ShoutError"
    assert run.error["message"] == "too loud"
    assert 'raise ShoutError("too loud")' in run.error["traceback"]
    assert "in recorded" not in run.error["traceback"]  # our own frames stay out


def test_an_exception_without_a_message_still_says_what_it_was(
    runtime: Runtime, pool: ServicePool
) -> None:
    def quiet() -> None:
        raise ValueError()

    run = ended(runtime, launch(pool, quiet))
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert run.error["type"] == "ValueError"
    assert run.error["message"] == "ValueError()"
    assert "raise ValueError()" in run.error["traceback"]


# ---------------------------------------------------------------------- limits
def test_a_full_pool_refuses_and_records_nothing(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    pool = make_pool(max_concurrency=1, max_queued=1, name="tiny")
    go = threading.Event()
    admitted = [launch(pool, lambda: go.wait(30)) for _ in range(2)]
    refused = Run(id=new_run_id(), kind=RunKind.SERVICE)
    with pytest.raises(ServiceBusyError) as info:
        pool.start(Execution(refused, lambda: None))
    assert info.value.service == "tiny"
    assert info.value.limit == 2
    assert info.value.retry_after >= 1
    go.set()
    for run_id in admitted:
        assert ended(runtime, run_id).status is RunStatus.SUCCEEDED
    runtime.sink.flush()
    assert recorded(runtime, refused.id) is None
    # Room again once they ended.
    assert ended(runtime, launch(pool, lambda: 7)).result == 7


def test_the_concurrency_limit_holds_for_sync_and_async(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    pool = make_pool(max_concurrency=2)
    lock = threading.Lock()
    inside = [0]
    most = [0]
    release = threading.Semaphore(0)

    def enter() -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])

    def leave() -> None:
        with lock:
            inside[0] -= 1

    def blocking() -> None:
        enter()
        release.acquire()
        leave()

    async def awaiting() -> None:
        enter()
        await asyncio.to_thread(release.acquire)
        leave()

    ids = [launch(pool, blocking if i % 2 else awaiting) for i in range(6)]
    for left in range(6, 0, -1):
        running = min(2, left)
        wait_until(lambda n=running: inside[0] == n, what=f"{running} running")
        release.release()
    for run_id in ids:
        assert ended(runtime, run_id).status is RunStatus.SUCCEEDED
    assert most[0] == 2


def test_a_thousand_awaiting_executions_hold_no_threads(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    runtime.sink  # noqa: B018 - its writer thread exists before the count
    pool = make_pool(max_concurrency=1000, max_queued=0)
    before = threading.active_count()
    waiting: list[asyncio.AbstractEventLoop] = []
    gate: dict[str, asyncio.Event] = {}

    async def wait_for_person(inputs: Any, tracer: Tracer) -> int:
        opened = gate.setdefault("event", asyncio.Event())  # all on the pool's one loop
        waiting.append(asyncio.get_running_loop())
        await opened.wait()
        return 1

    ids = [launch(pool, wait_for_person) for _ in range(1000)]
    wait_until(lambda: len(waiting) == 1000, what="1000 executions awaiting")
    # The pool's loop thread and its flusher; no thread per execution.
    assert threading.active_count() <= before + 2
    waiting[0].call_soon_threadsafe(gate["event"].set)
    wait_until(lambda: pool.active == 0, what="all executions to end")
    runtime.sink.flush()
    runs = runtime.store.runs_by_ids(ids)
    assert len(runs) == 1000
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED}


# ---------------------------------------------------------------------- cancel
def test_cancel_a_queued_execution(runtime: Runtime, make_pool: Callable[..., ServicePool]) -> None:
    pool = make_pool(max_concurrency=1)
    go = threading.Event()
    ran = threading.Event()
    first = launch(pool, lambda: go.wait(30))
    queued = launch(pool, ran.set)
    assert pool.cancel(queued)
    assert ended(runtime, queued).status is RunStatus.CANCELLED
    assert not pool.cancel(queued)  # ended: nothing to cancel
    go.set()
    assert ended(runtime, first).status is RunStatus.SUCCEEDED
    wait_until(lambda: pool.active == 0, what="the pool to be idle")
    assert not ran.is_set()  # it never started
    assert statuses(runtime, queued) == ["cancelled"]


def test_cancel_a_running_async_execution(runtime: Runtime, pool: ServicePool) -> None:
    started = threading.Event()
    unwound = threading.Event()

    async def forever(inputs: Any, tracer: Tracer) -> None:
        await tracer.markdown("started")
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            unwound.set()
            raise

    run_id = launch(pool, forever)
    assert started.wait(30)
    assert pool.cancel(run_id)
    assert ended(runtime, run_id).status is RunStatus.CANCELLED
    wait_until(unwound.is_set, what="the task to be cancelled")
    wait_until(lambda: pool.active == 0, what="the slot to be free")
    assert statuses(runtime, run_id) == ["running", "cancelled"]


def test_cancel_a_running_sync_execution_ends_it_at_once(
    runtime: Runtime, pool: ServicePool
) -> None:
    started = threading.Event()
    go = threading.Event()

    def stubborn(inputs: Any, tracer: Tracer) -> str:
        started.set()
        go.wait(30)  # no cancellation point: the thread cannot be stopped
        print("too late")
        tracer.markdown_sync("too late")
        return "ignored"

    run_id = launch(pool, stubborn)
    assert started.wait(30)
    assert pool.cancel(run_id)
    run = ended(runtime, run_id)  # while the thread is still blocked
    assert run.status is RunStatus.CANCELLED
    assert pool.active == 1  # its thread is still taken
    go.set()
    wait_until(lambda: pool.active == 0, what="the thread to return")
    runtime.sink.flush()
    run = runtime.store.get_run(run_id)
    assert run.status is RunStatus.CANCELLED and run.result is None
    assert [e.type for e in events(runtime, run_id)] == ["status", "status"]
    assert statuses(runtime, run_id) == ["running", "cancelled"]


def test_a_cancel_asked_through_the_store_ends_running_and_queued_runs(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    pool = make_pool(max_concurrency=1)
    started = threading.Event()
    ran = threading.Event()

    async def forever(inputs: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    running = launch(pool, forever)
    queued = launch(pool, ran.set)
    assert started.wait(30)
    wait_until(lambda: recorded(runtime, queued), what="the queued run to be written")
    runtime.store.request_cancel(queued)  # as the server's POST /runs/{id}/cancel does
    runtime.store.request_cancel(running)
    assert ended(runtime, running).status is RunStatus.CANCELLED
    assert ended(runtime, queued).status is RunStatus.CANCELLED
    wait_until(lambda: pool.active == 0, what="the pool to be idle")
    assert not ran.is_set()


def test_close_cancels_everything_and_refuses_more(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    pool = make_pool(max_concurrency=1)
    started = threading.Event()

    async def forever(inputs: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    running = launch(pool, forever)
    queued = launch(pool, lambda: None)
    assert started.wait(30)
    pool.close()
    pool.close()  # idempotent
    assert recorded(runtime, running).status is RunStatus.CANCELLED  # type: ignore[union-attr]
    assert recorded(runtime, queued).status is RunStatus.CANCELLED  # type: ignore[union-attr]
    with pytest.raises(ServiceBusyError):
        launch(pool, lambda: None)
    assert sys.stdout.__class__.__name__ != "_Proxy"  # the streams are restored


# ---------------------------------------------------------------------- lost
CHILD = """
import asyncio, sys, threading
from pathlib import Path
from hoist.runs.models import Run, RunKind
from hoist.runs.runtime import configure
from hoist.runs.sinks.store import StoreSink
from hoist.services.execution import Execution
from hoist.services.pool import ServicePool
from hoist.settings import Settings

runtime = configure(Settings(home=Path(sys.argv[1])))
sink = StoreSink(runtime.store, heartbeat_interval=0.1)
pool = ServicePool(runtime=runtime, sink=sink, max_concurrency=1, name="doomed")

async def forever(inputs, tracer):
    await tracer.markdown("started")
    await asyncio.Event().wait()

pool.start(Execution(Run(id=sys.argv[2], kind=RunKind.SERVICE), forever, {}))
pool.start(Execution(Run(id=sys.argv[3], kind=RunKind.SERVICE), forever, {}))
threading.Event().wait()
"""


@pytest.mark.slow
def test_a_killed_service_process_leaves_its_runs_lost_or_failed(
    runtime: Runtime, hoist_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "service.py"
    script.write_text(CHILD)
    run_id, queued = new_run_id(), new_run_id()
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "PYTHONPATH": str(REPO / "src")}
    args = [sys.executable, str(script), str(hoist_home), run_id, queued]
    child = subprocess.Popen(args, env=env)
    try:

        def running() -> Run | None:
            run = recorded(runtime, run_id)
            started = run is not None and events(runtime, run_id, "output")
            return run if started and run.status is RunStatus.RUNNING else None

        first = wait_until(running, what="the service's run to be running").heartbeat_at
        assert first is not None
        wait_until(
            lambda: (recorded(runtime, run_id).heartbeat_at or 0) > first,  # type: ignore[union-attr]
            what="a heartbeat from the live service",
        )
        assert recorded(runtime, queued).status is RunStatus.QUEUED  # type: ignore[union-attr]
        assert runtime.store.reap_stale(stale_after=60.0) == []  # alive: not lost
        assert runtime.store.reap_orphans(stale_after=60.0) == []
    finally:
        child.kill()  # SIGKILL: no cleanup of any kind runs
        child.wait(30)
    lost = wait_until(
        lambda: runtime.store.reap_stale(stale_after=1.0), what="the sweep to find it stale"
    )
    assert lost == [run_id]
    run = runtime.store.get_run(run_id)
    assert run.status is RunStatus.LOST
    assert run.error is not None and "no heartbeat" in run.error["message"]
    # The run it had queued never started: the sweep ends it (its owner is gone).
    assert runtime.store.reap_orphans(stale_after=1.0) == [queued]
    never = runtime.store.get_run(queued)
    assert never.status is RunStatus.FAILED
    assert never.error is not None and never.error["type"] == "RunNotStarted"
    assert "doomed@" in never.error["message"]
