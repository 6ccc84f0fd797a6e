"""Waiting for a run from an MCP call, with its progress sent to the client meanwhile.

The wait wakes on the event hub (the server's sink notifies it on every commit, so a
run this process launched wakes it at once; another worker's run within the hub's poll
interval) and, for a run executing in this process, on its in-process result. It reads
the run's new events from the store and turns its main progress bar (and its steps)
into MCP progress notifications. It never holds a thread while it waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import anyio.abc
import anyio.to_thread

from hoist.executors.handle import RunHandle
from hoist.mcp.tools.base import NO_PROGRESS, Progress
from hoist.runs.events import ProgressEvent, StatusEvent
from hoist.runs.models import Run
from hoist.server.state import ServerState

__all__ = ["WaitOutcome", "ended_outcome", "final_outcome", "wait_for_run"]

_PAGE = 500
_MAX_SLEEP = 1.0  # seconds between checks when nothing wakes the wait (a lost run, say)


@dataclass(frozen=True, slots=True)
class WaitOutcome:
    """How a wait ended.

    Attributes:
        run: the run's record when the wait ended.
        ended: it reached a terminal status (else the timeout passed first).
    """

    run: Run
    ended: bool


async def wait_for_run(
    state: ServerState,
    run_id: str,
    timeout: float,
    progress: Progress | None,
) -> WaitOutcome:
    """Wait up to ``timeout`` seconds for ``run_id`` to end, reporting its progress
    (``progress``: ``None`` when the client asked for none).

    Raises:
        RunNotFoundError: no such run.
    """
    handle = state.launcher.handle(run_id)
    finished = None if handle is None else _finished(handle.future)
    if finished is not None and progress is None:
        # A run of this process and nobody to report to: its in-process result says
        # when it ended; one read of its record then (after this process's writes).
        with anyio.move_on_after(timeout):
            await finished.wait()
        assert handle is not None
        return await anyio.to_thread.run_sync(ended_outcome, state, handle)
    return await _follow(state, run_id, timeout, progress or NO_PROGRESS, finished)


def _finished(future: Future[Any] | None) -> anyio.Event | None:
    """An event set when ``future`` is done (the future itself is left alone: cancelling
    an asyncio wrapper of it would cancel a run still queued)."""
    if future is None:
        return None
    done = anyio.Event()
    loop = asyncio.get_running_loop()
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(done.set))
    return done


def ended_outcome(state: ServerState, handle: RunHandle) -> WaitOutcome:
    """The outcome of a run of this process: its record as this process wrote it once
    it ended here (as ``run_plugin`` answers, nothing waits for the store's commit),
    else the store's record (after this process's writes)."""
    run = handle.ended_here()
    if run is not None:
        return WaitOutcome(run, True)
    return final_outcome(state, handle.run_id)


def final_outcome(state: ServerState, run_id: str, flush: bool = True) -> WaitOutcome:
    """The run's record now (after this process's writes, with ``flush``)."""
    if flush:
        state.sink.flush()
    run = state.store.get_run(run_id)
    return WaitOutcome(run, run.status.is_terminal)


async def _follow(
    state: ServerState,
    run_id: str,
    timeout: float,
    progress: Progress,
    finished: anyio.Event | None,
) -> WaitOutcome:
    """Wait on the event hub, reporting the progress events the run writes."""
    # A run of this process may not be recorded yet (``launch(record_now=False)``).
    outcome = await anyio.to_thread.run_sync(final_outcome, state, run_id, finished is not None)
    if outcome.ended:
        return outcome
    run_id = outcome.run.id
    sub = state.hub.subscribe(run_id)
    deadline = time.monotonic() + timeout
    last = 0
    try:
        while True:
            last, ended = await _report(state, run_id, last, progress)
            if ended or (finished is not None and finished.is_set()):
                outcome = await anyio.to_thread.run_sync(final_outcome, state, run_id, True)
                if outcome.ended:
                    return outcome
            left = deadline - time.monotonic()
            if left <= 0:
                return await anyio.to_thread.run_sync(final_outcome, state, run_id, False)
            with anyio.move_on_after(min(left, _MAX_SLEEP)):
                async with anyio.create_task_group() as group:
                    group.start_soon(_then_cancel, sub.wait(_MAX_SLEEP), group)
                    if finished is not None:
                        group.start_soon(_then_cancel, finished.wait(), group)
            sub.take()
    finally:
        state.hub.unsubscribe(run_id, sub)


async def _then_cancel(waiting: Awaitable[Any], group: anyio.abc.TaskGroup) -> None:
    await waiting
    group.cancel_scope.cancel()


async def _report(
    state: ServerState, run_id: str, after: int, progress: Progress
) -> tuple[int, bool]:
    """Send the progress in ``run_id``'s events after ``after``; returns the last seq
    read and whether a terminal status event was among them."""
    events = await anyio.to_thread.run_sync(state.store.events, run_id, after, _PAGE)
    ended = False
    latest: ProgressEvent | None = None
    for event in events:
        after = event.seq
        if isinstance(event, ProgressEvent) and event.category is None:
            latest = event
        elif isinstance(event, StatusEvent):
            ended = ended or event.status.is_terminal
    if latest is not None:
        await progress(float(latest.current), float(latest.total) or None, latest.summary())
    return after, ended
