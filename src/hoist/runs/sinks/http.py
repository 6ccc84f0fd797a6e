"""A sink for remote workers that cannot reach the database: runs and events are
batched on a writer thread and posted to a Hoist server's ``POST /api/v1/ingest``.

Delivery is at-least-once on the wire and exactly-once in the store: a batch whose post
fails (the server is down, a 5xx, the answer lost on the way back) is kept and posted
again, unchanged, with a growing pause; the server ignores what it already stored
(ingest is idempotent on the run id and on ``(run_id, seq)``). Nothing is dropped for a
transient failure; a batch the server refuses for good (401, 403, 422) is dropped,
loudly, and the next :meth:`HttpSink.flush` raises.

Each post also lists the runs still executing here (``alive``); the answer names those
whose cancellation was asked, which :meth:`HttpSink.is_cancel_requested` then reports.
When no event is waiting, an empty batch is posted every ``poll_interval`` seconds: it
heartbeats the live runs (so the server does not mark them ``lost``) and reads their
cancel flags.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import threading
import time
import weakref
from collections import deque
from typing import Any

from hoist.errors import MissingExtraError, StoreError
from hoist.runs.models import EVENT_ADAPTER, RUN_ADAPTER, EventBase, Run, RunStatus, StatusEvent
from hoist.runs.sinks.base import EventSink

__all__ = ["HttpSink"]

_log = logging.getLogger("hoist.http_sink")
_live_sinks: weakref.WeakSet[HttpSink] = weakref.WeakSet()
_MAX_RUNS, _MAX_EVENTS = 1000, 10_000  # what the server accepts in one batch
_PERMANENT = frozenset({400, 401, 403, 404, 413, 422})


@atexit.register
def _close_all_at_exit() -> None:
    for sink in list(_live_sinks):
        try:
            sink.close()
        except StoreError as exc:
            _log.error("%s", exc)


class _Batch:
    """Encoded runs and events, posted (and re-posted) as one body."""

    def __init__(self) -> None:
        self.runs: list[bytes] = []
        self.events: list[bytes] = []
        self.opened: list[str] = []
        self.ended: list[str] = []
        self.count = 0  # queue items it holds
        self.size = 0

    def body(self, alive: list[str]) -> bytes:
        return b"".join((b'{"runs":[', b",".join(self.runs), b'],"events":[',
                         b",".join(self.events), b'],"alive":',
                         json.dumps(alive).encode(), b"}"))  # fmt: skip


class HttpSink(EventSink):
    """Batches runs and events to a Hoist server's ingest endpoint.

    Args:
        server_url: the server, e.g. ``http://hoist.internal:8465``.
        token: an API token of an operator (or admin) account.
        interval: longest time (s) an event waits before it is posted.
        batch_bytes: a batch is cut before its body passes this size (stay under the
            server's request limit, 1 MiB by default).
        poll_interval: seconds between heartbeats (and cancel-flag reads) while runs
            are live and no event is waiting.
        max_backoff: longest pause (s) between two attempts to post a failed batch.
        timeout: seconds for one post.

    Raises:
        MissingExtraError: ``httpx`` (the ``server`` extra) is not installed.
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        interval: float = 0.02,
        batch_bytes: int = 768 * 1024,
        poll_interval: float = 0.5,
        max_backoff: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        if importlib.util.find_spec("httpx") is None:
            raise MissingExtraError("server", "httpx")
        import httpx

        self.server_url = server_url.rstrip("/")
        self.interval = interval
        self.batch_bytes = batch_bytes
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self._http = httpx.Client(
            base_url=self.server_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        self._queue: deque[Run | EventBase] = deque()
        self._pending: _Batch | None = None  # taken from the queue, not yet acknowledged
        self._enqueued = 0
        self._done_count = 0  # items posted (or dropped for good)
        self._done = threading.Condition()
        self._wake = threading.Event()
        self._closed = False
        self._stop = threading.Event()  # set when close() gives up on an unreachable server
        self._live: set[str] = set()
        self._cancelled: frozenset[str] = frozenset()
        self._next_poll = 0.0
        self._last_error: str | None = None
        self._refused: str | None = None  # a permanent refusal not yet reported by flush()
        self.dropped = 0
        self.posts = 0
        self._thread = threading.Thread(target=self._run, name="hoist-http-sink", daemon=True)
        self._thread.start()
        _live_sinks.add(self)

    # ------------------------------------------------------------------ sink
    def open_run(self, run: Run) -> None:
        self._queue.append(run)
        self._enqueued += 1

    def emit(self, event: EventBase) -> None:
        self._queue.append(event)
        self._enqueued += 1

    def is_cancel_requested(self, run_id: str) -> bool:
        # The writer refreshes the set from every answer: a set lookup on the hot path.
        return run_id in self._cancelled

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until everything emitted before this call was accepted by the server.

        Raises:
            StoreError: the server could not be reached within ``timeout`` seconds, or
                it refused a batch for good (bad token, invalid data) since the last flush.
        """
        target = self._enqueued
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self._done:
            while self._done_count < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or self._stop.is_set():
                    raise StoreError(
                        f"the Hoist server at {self.server_url} did not accept events in "
                        f"time: {self._last_error}"
                    )
                self._done.wait(0.5 if remaining is None else min(remaining, 0.5))
        refused, self._refused = self._refused, None
        if refused is not None:
            raise StoreError(f"the Hoist server at {self.server_url} refused events: {refused}")

    def close(self, timeout: float = 30.0) -> None:
        """Flush (waiting up to ``timeout`` seconds), then stop the writer thread.

        Raises:
            StoreError: events could not be delivered (they are lost with the process).
        """
        if self._closed:
            return
        try:
            self.flush(timeout)
        finally:
            self._closed = True
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout=5)
            self._http.close()

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        backoff = self.interval
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            while not self._stop.is_set():
                posted = self._post_next()
                if posted is None:  # failed: keep the batch, try again after a pause
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    break
                backoff = self.interval
                if not posted:
                    break

    def _post_next(self) -> bool | None:
        """Post the pending batch, or the next one, or a heartbeat when one is due.

        Returns True if something was posted, False if there was nothing to post, None
        if the post failed and must be repeated.
        """
        batch = self._pending or self._take()
        if batch is None:
            if not self._live or time.monotonic() < self._next_poll:
                return False
            batch = _Batch()  # a heartbeat: only ``alive``
        self._pending = batch
        try:
            answer = self._post(batch)
        except _Retry as exc:
            self._last_error = str(exc)
            _log.warning("posting events to %s failed, will retry: %s", self.server_url, exc)
            return None
        self._pending = None
        if answer is not None:
            self._cancelled = frozenset(answer.get("cancel_requested") or ())
            self._live.update(batch.opened)
            self._live.difference_update(batch.ended)
        self._next_poll = time.monotonic() + self.poll_interval
        with self._done:
            self._done_count += batch.count
            self._done.notify_all()
        return batch.count > 0

    def _post(self, batch: _Batch) -> dict[str, Any] | None:
        """The server's answer; ``None`` when it refused the batch for good (dropped)."""
        import httpx

        alive = sorted(self._live.union(batch.opened).difference(batch.ended))[:_MAX_RUNS]
        try:
            response = self._http.post("/api/v1/ingest", content=batch.body(alive))
        except httpx.TransportError as exc:  # not reached, or no answer: send it again
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        self.posts += 1
        status = response.status_code
        if status < 300:
            answer: dict[str, Any] = response.json()
            return answer
        if status in _PERMANENT:
            detail = f"{status} {response.text[:500]}"
            self.dropped += batch.count
            self._refused = self._last_error = detail
            _log.error("the server refused %d runs/events for good: %s", batch.count, detail)
            return None
        raise _Retry(f"{status} {response.text[:200]}")  # 5xx, 429, ...: try again

    def _take(self) -> _Batch | None:
        queue = self._queue
        if not queue:
            return None
        batch = _Batch()
        while queue and len(batch.runs) < _MAX_RUNS and len(batch.events) < _MAX_EVENTS:
            item = queue[0]
            try:
                data = _encode(item)
            except Exception as exc:  # it never will encode: drop it rather than block
                queue.popleft()
                batch.count += 1
                self.dropped += 1
                _log.error("dropped %r: cannot encode it: %s", item, exc)
                continue
            if batch.count and batch.size + len(data) > self.batch_bytes:
                break
            queue.popleft()
            batch.count += 1
            batch.size += len(data) + 1
            if isinstance(item, Run):
                batch.runs.append(data)
                batch.opened.append(item.id)
            else:
                batch.events.append(data)
                if isinstance(item, StatusEvent) and RunStatus(item.status).is_terminal:
                    batch.ended.append(item.run_id)
        return batch


class _Retry(Exception):
    """A post that may succeed if repeated."""


def _encode(item: Run | EventBase) -> bytes:
    if isinstance(item, Run):
        return RUN_ADAPTER.dump_json(item)
    return EVENT_ADAPTER.dump_json(item)
