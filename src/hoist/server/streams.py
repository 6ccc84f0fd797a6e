"""The event hub: ONE poller per server process feeds every live stream.

Streams never poll the store themselves. A stream registers a :class:`Subscription`;
while there is at least one, the hub's single task wakes every ``poll_interval`` seconds
(or at once when :meth:`EventHub.notify` is called: the server's own sink after each
commit, the ingest endpoint after each batch), reads the new events of every watched
run in ONE query, encodes each event once as an SSE frame, and appends the frames to the
subscriptions' buffers. With no subscribers the task ends, so an idle server costs nothing.
When no watched run has produced an event for ``idle_after`` seconds the hub reads every
``idle_poll_interval`` instead (wake-ups still act at once), so idle open streams cost
almost no CPU; the first new event puts it back to ``poll_interval``.

The same task watches run statuses for the all-runs stream (one indexed query per
``runs_poll_interval``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

import anyio.to_thread

from hoist.runs.models import Run, RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.store import RunStore
from hoist.server.frames import Frame, Subscription, event_frame, run_frame

__all__ = ["EventHub", "Frame", "Subscription", "event_frame", "run_frame"]

_log = logging.getLogger("hoist.server.streams")


@dataclass(eq=False)
class _Watch:
    cursor: int | None = None
    subs: set[Subscription] = field(default_factory=set)


class EventHub:
    """Fans the store's new events out to live streams (see the module docstring).

    Args:
        store: where events are read.
        poll_interval: seconds between reads while watched runs are active.
        idle_poll_interval: seconds between reads once they have been quiet a while.
        idle_after: seconds without new events after which the hub reads less often.
        runs_poll_interval: seconds between run-status reads for the all-runs stream.
        reap_interval: seconds between checks for runs whose worker stopped heartbeating
            (they become ``lost``, which ends their streams: no stream waits forever).
    """

    def __init__(
        self,
        store: RunStore,
        *,
        poll_interval: float = 0.02,
        idle_poll_interval: float = 0.1,
        idle_after: float = 1.0,
        runs_poll_interval: float = 0.25,
        reap_interval: float = 5.0,
    ) -> None:
        self.store = store
        self.poll_interval = poll_interval
        self.idle_poll_interval = max(idle_poll_interval, poll_interval)
        self.idle_after = idle_after
        self.runs_poll_interval = runs_poll_interval
        self.reap_interval = reap_interval
        self._next_reap = 0.0
        self._active_at = 0.0
        self._watches: dict[str, _Watch] = {}
        self._run_subs: set[Subscription] = set()
        self._known: dict[str, str] = {}
        self._runs_primed = False
        self._watched: frozenset[str] = frozenset()  # read by notify() from other threads
        self._runs_checked = 0.0
        self._next_runs_poll = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._notify_lock = threading.Lock()

    # ------------------------------------------------------------------ subscribers
    def subscribe(self, run_id: str) -> Subscription:
        """Start buffering ``run_id``'s new events (call :meth:`start_from` next)."""
        sub = Subscription()
        if self._closed:
            sub.close()
            return sub
        self._watches.setdefault(run_id, _Watch()).subs.add(sub)
        self._watched = frozenset(self._watches)
        self._active_at = time.monotonic()
        self._ensure_running()
        return sub

    def start_from(self, run_id: str, seq: int) -> int:
        """Tell the hub the subscriber has read the store up to ``seq``; returns the seq
        after which the hub delivers (the caller reads any events up to it itself)."""
        watch = self._watches.get(run_id)
        if watch is None:
            return seq
        if watch.cursor is None:
            watch.cursor = seq
            self.wake()
        return watch.cursor

    def unsubscribe(self, run_id: str, sub: Subscription) -> None:
        """Stop delivering to ``sub``."""
        watch = self._watches.get(run_id)
        if watch is not None:
            watch.subs.discard(sub)
            if not watch.subs:
                del self._watches[run_id]
                self._watched = frozenset(self._watches)

    def subscribe_runs(self) -> Subscription:
        """Start buffering every run's status changes."""
        sub = Subscription()
        if self._closed:
            sub.close()
            return sub
        if not self._run_subs:
            self._known, self._runs_primed = {}, False
            self._next_runs_poll = 0.0
        self._run_subs.add(sub)
        self._ensure_running()
        return sub

    def unsubscribe_runs(self, sub: Subscription) -> None:
        """Stop delivering run-status changes to ``sub``."""
        self._run_subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """Open subscriptions (run streams and all-runs streams)."""
        return sum(len(w.subs) for w in self._watches.values()) + len(self._run_subs)

    # ------------------------------------------------------------------ wake-ups
    def wake(self) -> None:
        """Poll now (call from the event loop)."""
        if self._wake is not None:
            self._wake.set()

    def notify(self, run_ids: set[str] | None = None) -> None:
        """Poll now; safe from any thread (the sink's writer calls it after commits)."""
        loop = self._loop
        if loop is None or self._task is None or loop.is_closed():
            return
        if run_ids is not None and not self._run_subs and run_ids.isdisjoint(self._watched):
            return  # nobody watches these runs: no thread hop
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self.wake)

    # ------------------------------------------------------------------ the task
    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._task = self._loop.create_task(self._run(), name="hoist-event-hub")

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closed and (self._watches or self._run_subs):
            quiet = time.monotonic() - self._active_at > self.idle_after
            interval = self.idle_poll_interval if quiet else self.poll_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            if self._wake.is_set():
                self._active_at = time.monotonic()
            self._wake.clear()
            try:
                if self._watches and time.monotonic() >= self._next_reap:
                    self._next_reap = time.monotonic() + self.reap_interval
                    await anyio.to_thread.run_sync(self.store.reap_stale)
                await self._poll_events()
                if self._run_subs and time.monotonic() >= self._next_runs_poll:
                    self._next_runs_poll = time.monotonic() + self.runs_poll_interval
                    await self._poll_runs()
            except Exception as exc:  # a store hiccup must not end every stream
                _log.warning("event hub poll failed: %s", exc)
                await asyncio.sleep(min(1.0, self.poll_interval * 10))

    async def _poll_events(self) -> None:
        cursors = {rid: w.cursor for rid, w in self._watches.items() if w.cursor is not None}
        if not cursors:
            return
        found = await anyio.to_thread.run_sync(self.store.events_after, cursors)
        if found:
            self._active_at = time.monotonic()
        for event in found:
            watch = self._watches.get(event.run_id)
            if watch is None or watch.cursor is None or event.seq <= watch.cursor:
                continue
            watch.cursor = event.seq
            frame = event_frame(event)
            for sub in watch.subs:
                sub.push(frame)

    async def _poll_runs(self) -> None:
        since = self._runs_checked - 2.0  # overlap: clocks and commit order are not exact
        self._runs_checked = time.time()
        first = not self._runs_primed
        active, recent = await anyio.to_thread.run_sync(self._read_runs, since, first)
        changed = [rid for rid, st in active.items() if self._known.get(rid) != st]
        gone = [
            rid
            for rid, status in self._known.items()
            if rid not in active and not RunStatus(status).is_terminal
        ]
        if first:
            self._known, self._runs_primed = dict(active), True
            return
        runs = await anyio.to_thread.run_sync(self.store.runs_by_ids, changed + gone)
        runs += [r for r in recent if r.id not in active and self._known.get(r.id) != r.status]
        seen: set[str] = set()
        for run in runs:
            if run.id in seen or self._known.get(run.id) == run.status:
                continue
            seen.add(run.id)
            frame = run_frame(run)
            for sub in self._run_subs:
                sub.push(frame)
        known = dict(active)
        for run in runs:
            if run.status.is_terminal and run.created_at >= since:
                known[run.id] = str(run.status)  # kept while the overlap window may return it
        self._known = known

    def _read_runs(self, since: float, first: bool) -> tuple[dict[str, str], list[Run]]:
        active = self.store.active_runs()
        recent = [] if first else self.store.list_runs(RunFilter(since=since, limit=500))
        return active, recent

    async def close(self) -> None:
        """End every subscription and stop the task."""
        self._closed = True
        for watch in list(self._watches.values()):
            for sub in watch.subs:
                sub.close()
        for sub in self._run_subs:
            sub.close()
        task, self._task = self._task, None
        if task is not None:
            self.wake()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
