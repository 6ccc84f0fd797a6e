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
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from hoist.mcp.tools.base import Progress
from hoist.runs.events import ProgressEvent, StatusEvent
from hoist.runs.models import Run
from hoist.server.state import ServerState

__all__ = ["WaitOutcome", "wait_for_run"]

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
    state: ServerState, run_id: str, timeout: float, progress: Progress
) -> WaitOutcome:
    """Wait up to ``timeout`` seconds for ``run_id`` to end, reporting its progress.

    Raises:
        RunNotFoundError: no such run.
    """
    store = state.store
    run = await anyio.to_thread.run_sync(store.get_run, run_id)
    if run.status.is_terminal:
        return WaitOutcome(run, True)
    handle = state.launcher.handle(run.id)
    finished = None
    if handle is not None and handle.future is not None:
        finished = asyncio.wrap_future(handle.future)
    sub = state.hub.subscribe(run.id)
    deadline = time.monotonic() + timeout
    last = 0
    try:
        while True:
            last, ended = await _report(state, run.id, last, progress)
            if ended or (finished is not None and finished.done()):
                if handle is not None:
                    await anyio.to_thread.run_sync(state.sink.flush)
                run = await anyio.to_thread.run_sync(store.get_run, run.id)
                if run.status.is_terminal:
                    return WaitOutcome(run, True)
            left = deadline - time.monotonic()
            if left <= 0:
                run = await anyio.to_thread.run_sync(store.get_run, run.id)
                return WaitOutcome(run, run.status.is_terminal)
            await _woken(sub.wait(min(left, _MAX_SLEEP)), finished)
            sub.take()
    finally:
        if finished is not None and not finished.done():
            finished.cancel()  # only the asyncio wrapper: the run goes on
        state.hub.unsubscribe(run.id, sub)


async def _woken(hub_wake: Coroutine[Any, Any, bool], finished: asyncio.Future[Any] | None) -> None:
    """Until the hub wakes the wait, the run's in-process result arrives, or the hub's
    wait times out."""
    waiter = asyncio.ensure_future(hub_wake)
    waits: set[asyncio.Future[Any]] = {waiter}
    if finished is not None and not finished.done():
        waits.add(finished)
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not waiter.done():
            waiter.cancel()


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
