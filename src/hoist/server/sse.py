"""Server-Sent Events: a run's event stream (with ``Last-Event-ID`` replay) and the
all-runs status stream, both fed by the :class:`~hoist.server.streams.EventHub`.

A stream outlives the authentication of its request, so it re-checks the caller's
credential while it runs (:class:`~hoist.server.auth.CredentialCheck`) and ends, with
a :data:`REVOKED` comment, once the token is revoked, the session ended or the user
deactivated.
"""

from __future__ import annotations

import enum
import time
from collections.abc import AsyncIterator

import anyio.to_thread

from hoist.runs.store import RunStore
from hoist.server.auth import CredentialCheck
from hoist.server.frames import Frame, Subscription, event_frame
from hoist.server.streams import EventHub

__all__ = ["KEEPALIVE", "REVOKED", "SSE_HEADERS", "run_events_stream", "runs_stream"]

KEEPALIVE = ": keep-alive\n\n"
"""An SSE comment: keeps proxies from closing an idle stream."""
REVOKED = ": credentials revoked\n\n"
"""The last SSE comment of a stream whose caller's credential no longer holds."""

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers of every stream (no caching, no proxy buffering)."""

_PAGE = 500


class _Wake(enum.Enum):
    READY = "ready"  # frames arrived (or the subscription overflowed or closed)
    KEEPALIVE = "keepalive"  # quiet for ``keepalive`` seconds
    REVOKED = "revoked"  # the credential no longer holds: end the stream


class _Waker:
    """Why a live stream wakes next: its credential is re-checked whenever a check is
    due, however busy the stream is, and a quiet stream gets a keep-alive."""

    def __init__(self, sub: Subscription, keepalive: float, check: CredentialCheck | None):
        self.sub, self.keepalive, self.check = sub, keepalive, check
        self.quiet_since = time.monotonic()

    async def next(self) -> _Wake:
        while True:
            if self.check is not None and not await self.check.holds():
                return _Wake.REVOKED
            timeout = self.keepalive
            if self.check is not None:
                timeout = min(timeout, self.check.due_in())
            if await self.sub.wait(timeout):
                self.quiet_since = time.monotonic()
                return _Wake.READY
            if time.monotonic() - self.quiet_since >= self.keepalive:
                self.quiet_since = time.monotonic()
                return _Wake.KEEPALIVE


async def _read(store: RunStore, run_id: str, after: int, limit: int) -> list[Frame]:
    events = await anyio.to_thread.run_sync(store.events, run_id, after, limit)
    return [event_frame(e) for e in events]


async def run_events_stream(
    hub: EventHub,
    store: RunStore,
    run_id: str,
    after: int,
    keepalive: float,
    check: CredentialCheck | None = None,
) -> AsyncIterator[str]:
    """The frames of ``run_id``'s events with ``seq > after``, then live ones, until the
    run's terminal event (or until ``check`` finds the caller's credential gone).

    The stream subscribes first, then replays the stored backlog, then hands over to the
    hub at the seq it reached; any gap (a lagging buffer, an event the hub saw before the
    hand-over) is read from the store, so every event is sent exactly once, in order.
    """
    sub = hub.subscribe(run_id)
    last = after
    try:
        while True:  # the backlog
            frames = await _read(store, run_id, last, _PAGE)
            for frame in frames:
                yield frame.text
                last = frame.seq
                if frame.terminal:
                    return
            if len(frames) < _PAGE:
                break
        run = await anyio.to_thread.run_sync(store.get_run, run_id)
        if run.status.is_terminal:  # ended before ``after``, or between the two reads
            for frame in await _read(store, run_id, last, _PAGE):
                yield frame.text
            return
        cursor = hub.start_from(run_id, last)
        if cursor > last:
            for frame in await _read(store, run_id, last, cursor - last):
                yield frame.text
                last = frame.seq
        waker = _Waker(sub, keepalive, check)
        while True:
            wake = await waker.next()
            if wake is _Wake.REVOKED:
                yield REVOKED
                return
            if wake is _Wake.KEEPALIVE:
                yield KEEPALIVE
                continue
            if sub.closed:
                return
            if sub.overflowed:
                sub.overflowed = False
                sub.take()
                async for text, seq, terminal in _catch_up(store, run_id, last):
                    yield text
                    last = seq
                    if terminal:
                        return
                continue
            for frame in sub.take():
                if frame.seq <= last:
                    continue
                if frame.seq > last + 1:  # a gap: fill it from the store
                    for missed in await _read(store, run_id, last, frame.seq - last - 1):
                        yield missed.text
                        last = missed.seq
                yield frame.text
                last = frame.seq
                if frame.terminal:
                    return
    finally:
        hub.unsubscribe(run_id, sub)


async def _catch_up(
    store: RunStore, run_id: str, after: int
) -> AsyncIterator[tuple[str, int, bool]]:
    last = after
    while True:
        frames = await _read(store, run_id, last, _PAGE)
        for frame in frames:
            yield frame.text, frame.seq, frame.terminal
            last = frame.seq
        if len(frames) < _PAGE:
            return


async def runs_stream(
    hub: EventHub, keepalive: float, check: CredentialCheck | None = None
) -> AsyncIterator[str]:
    """Every run's status changes, as ``event: run`` frames holding the run's record
    (until ``check`` finds the caller's credential gone)."""
    sub = hub.subscribe_runs()
    try:
        yield ": connected\n\n"
        waker = _Waker(sub, keepalive, check)
        while True:
            wake = await waker.next()
            if wake is _Wake.REVOKED:
                yield REVOKED
                return
            if wake is _Wake.KEEPALIVE:
                yield KEEPALIVE
                continue
            if sub.closed:
                return
            sub.overflowed = False
            for frame in sub.take():
                yield frame.text
    finally:
        hub.unsubscribe_runs(sub)
