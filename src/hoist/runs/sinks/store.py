"""A sink that writes to the run store in batches from a background thread.

``emit`` appends to a deque (no lock, no I/O). The writer wakes every ``interval``
seconds, or sooner when ``batch_size`` items are waiting, and commits everything queued in
one transaction. :meth:`StoreSink.flush` returns once all that was emitted before the call
is committed: that is the acknowledgement. A failed write keeps its batch and is retried,
so a database hiccup loses nothing.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from hoist.errors import StoreError
from hoist.runs.models import EventBase, Run, RunStatus
from hoist.runs.sinks.base import EventSink
from hoist.runs.store import RunStore
from hoist.runs.store.store import encode_event, encode_run

__all__ = ["StoreSink"]

_log = logging.getLogger("hoist.store")
_live_sinks: weakref.WeakSet[StoreSink] = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:
    for sink in list(_live_sinks):
        sink.close()


class StoreSink(EventSink):
    """Batches runs and events into a :class:`~hoist.runs.store.RunStore`.

    Args:
        store: where to write.
        interval: longest time (s) an event waits before it is written.
        batch_size: queue length that wakes the writer early.
        cancel_poll_interval: how often (s) a run's cancel flag is read from the store.
        heartbeat_interval: how often (s) the live runs of this sink are marked alive
            (``heartbeat_at``), so that a run whose process died can be told apart.
        on_commit: called (on the writing thread) with the ids of the runs a batch
            touched, once it is committed; e.g. the server wakes its live streams.
    """

    def __init__(
        self,
        store: RunStore,
        *,
        interval: float = 0.02,
        batch_size: int = 2000,
        cancel_poll_interval: float = 0.5,
        heartbeat_interval: float = 5.0,
        on_commit: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self.batch_size = batch_size
        self.cancel_poll_interval = cancel_poll_interval
        self.on_commit = on_commit
        self._queue: deque[Run | EventBase] = deque()
        self._enqueued = 0
        self._written = 0
        self._done = threading.Condition()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._last_error: BaseException | None = None
        self.dropped = 0
        self._live: set[str] = set()
        self._idle = False
        self._cancelled: frozenset[str] = frozenset()
        self._next_cancel_poll = 0.0
        self.heartbeat_interval = heartbeat_interval
        self._next_heartbeat = time.monotonic() + heartbeat_interval
        self._thread = threading.Thread(target=self._run, name="hoist-store-writer", daemon=True)
        self._thread.start()
        _live_sinks.add(self)

    def open_run(self, run: Run) -> None:
        self._queue.append(run)
        self._enqueued += 1
        if self._idle:
            self._wake.set()

    def emit(self, event: EventBase) -> None:
        self._queue.append(event)
        self._enqueued += 1
        if self._idle or len(self._queue) == self.batch_size:  # crossing it, not past it
            self._wake.set()

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until everything emitted before this call is committed.

        Raises:
            StoreError: the store could not be written within ``timeout`` seconds.
        """
        target = self._enqueued
        if self._written >= target:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        # Write in this thread when the writer is idle: no thread hand-off on the path of
        # callers that need durability now (checkpoints, the end of a CLI run).
        if self._write_lock.acquire(timeout=0 if timeout is None else min(timeout, 0.05)):
            try:
                while self._written < target and self._write_one_batch():
                    pass
            finally:
                self._write_lock.release()
        if self._written >= target:
            return
        self._wake.set()
        with self._done:
            while self._written < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise StoreError(
                        f"run store {self.store.safe_url} did not accept events in time: "
                        f"{self._last_error}"
                    )
                self._done.wait(remaining if remaining is None else min(remaining, 0.5))

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._wake.set()
            self._thread.join(timeout=5)

    def is_cancel_requested(self, run_id: str) -> bool:
        # The writer thread refreshes the set of cancelled live runs in bulk, so this
        # stays a set lookup on the action's thread.
        return run_id in self._cancelled

    # writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.interval
        while True:
            # Idle (nothing queued, no live run to heartbeat): sleep until woken, so an
            # idle process spends no CPU here; the next event wakes the writer at once.
            # _idle is set before the queue is checked: an event appended meanwhile is
            # either seen here or sees _idle and wakes the writer.
            self._idle = True
            if self._queue or self._live or self._closed:
                self._idle = False
            self._wake.wait(None if self._idle else self.interval)
            if self._idle:  # the first event after a quiet spell: gather a batch first
                self._idle = False
                self._wake.clear()
                self._wake.wait(self.interval)  # a flush() cuts this short
            self._wake.clear()
            closing = self._closed
            self._poll_cancellations()
            self._heartbeat()
            while True:
                with self._write_lock:
                    wrote = self._write_one_batch()
                if wrote is None:  # failed: keep the batch, retry after a pause
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    break
                backoff = self.interval
                if not wrote:
                    break
            if closing and not self._queue:
                return

    def _write_one_batch(self) -> bool | None:
        """Write the next batch (caller holds the write lock).

        Returns True if a batch was written, False if the queue was empty, None if the
        write failed (the batch is back at the head of the queue).
        """
        batch = self._take()
        if not batch:
            return False
        try:
            self._write(batch)
        except Exception as exc:
            self._last_error = exc
            _log.warning("run store write failed, will retry: %s", exc)
            self._queue.extendleft(reversed(batch))
            return None
        with self._done:
            self._written += len(batch)
            self._done.notify_all()
        return True

    def _take(self) -> list[Run | EventBase]:
        batch: list[Run | EventBase] = []
        queue = self._queue
        while queue and len(batch) < 5000:
            batch.append(queue.popleft())
        return batch

    def _write(self, batch: list[Run | EventBase]) -> None:
        run_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        updates: dict[str, dict[str, Any]] = {}
        opened: list[str] = []
        ended: list[str] = []
        for item in batch:
            # An item that cannot be encoded never will be: drop it (loudly) rather than
            # let it block everything behind it. Database errors, below, are retried.
            try:
                if isinstance(item, Run):
                    run_rows.append(encode_run(item))
                    opened.append(item.id)
                    continue
                row, changed = encode_event(item)
            except Exception as exc:
                self.dropped += 1
                _log.error("dropped %r: cannot encode it: %s", item, exc)
                continue
            event_rows.append(row)
            if changed is not None:
                updates.setdefault(item.run_id, {}).update(changed)
                if RunStatus(changed.get("status", "running")).is_terminal:
                    ended.append(item.run_id)
        self.store.write_rows(run_rows, event_rows, updates)
        self._live.update(opened)
        self._live.difference_update(ended)
        if self.on_commit is not None:
            touched = set(opened)
            touched.update(row["run_id"] for row in event_rows)
            try:
                self.on_commit(touched)
            except Exception as exc:  # a listener's failure must not stop the writer
                _log.warning("on_commit listener failed: %s", exc)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if not self._live or now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self.heartbeat_interval
        try:
            self.store.heartbeat(list(self._live))
        except Exception as exc:  # a failed heartbeat must not stop the writer
            _log.warning("could not record heartbeats: %s", exc)

    def _poll_cancellations(self) -> None:
        now = time.monotonic()
        if not self._live or now < self._next_cancel_poll:
            return
        self._next_cancel_poll = now + self.cancel_poll_interval
        try:
            self._cancelled = frozenset(self.store.cancel_requested_among(list(self._live)))
        except Exception as exc:  # a failed poll must not stop the writer
            _log.warning("could not read cancellation flags: %s", exc)
