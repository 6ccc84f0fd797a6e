"""The one batching writer behind every sink that writes somewhere slow (the run store,
a Hoist server): :class:`BatchWriter`.

``emit`` appends to a deque (no lock, no counter, no I/O). A writer thread wakes every
``interval`` seconds, takes what is queued in batches of at most ``max_items``, has the
backend encode each once and write it. :meth:`BatchWriter.flush` returns once all that
was emitted before the call is written: that is the acknowledgement. While runs are live
the thread also heartbeats them and reads their cancel flags; idle, it sleeps until the
next item.

A failed write keeps its batch and tries it again, unchanged, after a growing pause:

- an error that can pass (the backend's :meth:`~BatchWriter._is_transient`: a lost
  connection, a locked database, a timeout, a 5xx) is retried until it passes, so a
  hiccup loses nothing;
- any other error (an integrity error, a 4xx refusal) is tried ``max_tries`` times; then
  the batch is halved to find the items at fault (unless the backend says every item
  would fail alike), and an item that still cannot be written is set aside in
  :attr:`~BatchWriter.rejected`, logged once, and reported by the next ``flush`` as a
  :class:`~hoist.errors.StoreError`. The items behind it are written meanwhile.

A backend subclasses :class:`BatchWriter` and implements its protected hooks
(``_encode``, ``_write``, ``_heartbeat``, ``_cancel_requested``, ``_is_transient``).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from abc import abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hoist.errors import StoreError
from hoist.runs.models import EventBase, Run, StatusEvent
from hoist.runs.sinks.base import EventSink

__all__ = ["BatchWriter", "Item", "Rejected"]

_log = logging.getLogger("hoist.sinks")
_live_writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()

Item = Run | EventBase
"""What a sink queues: a new run or an event."""


@atexit.register
def _close_all_at_exit() -> None:
    for writer in list(_live_writers):
        try:
            writer.close()
        except StoreError as exc:
            _log.error("%s", exc)


@dataclass(frozen=True)
class Rejected:
    """Runs and events a backend refused for good, set aside, and why."""

    items: list[Item]
    error: str


class _Batch:
    """Items taken off the queue as one write: encoded once, written (and retried) as is."""

    __slots__ = ("count", "ended", "items", "opened", "payload", "tries")

    def __init__(self, items: list[Item], payload: Any, count: int) -> None:
        self.items = items
        self.payload = payload
        self.count = count  # queue items it accounts for (those dropped when encoded too)
        self.tries = 0
        opened: list[str] = []
        ended: list[str] = []
        for item in items:
            cls = type(item)
            if cls is StatusEvent:
                if item.status.is_terminal:  # type: ignore[union-attr]
                    ended.append(item.run_id)  # type: ignore[union-attr]
            elif cls is Run:
                opened.append(item.id)  # type: ignore[union-attr]
        self.opened = opened
        self.ended = ended


class BatchWriter(EventSink):
    """A sink that batches runs and events on a writer thread (see the module docstring).

    Args:
        interval: longest time (s) an item waits before it is written.
        max_items: most items in one batch.
        heartbeat_interval: how often (s) the live runs are marked alive.
        cancel_poll_interval: how often (s) the live runs' cancel flags are read.
        max_backoff: longest pause (s) between two tries of a failed batch.
        max_tries: tries of a batch that fails with an error that cannot pass, before
            it is halved (or set aside).
    """

    #: What the writer writes to, for messages (e.g. ``run store sqlite:///...``).
    target: str = "the sink"

    def __init__(
        self,
        *,
        interval: float = 0.02,
        max_items: int = 5000,
        heartbeat_interval: float = 5.0,
        cancel_poll_interval: float = 0.5,
        max_backoff: float = 2.0,
        max_tries: int = 3,
    ) -> None:
        self.interval = interval
        self.max_items = max_items
        self.heartbeat_interval = heartbeat_interval
        self.cancel_poll_interval = cancel_poll_interval
        self.max_backoff = max_backoff
        self.max_tries = max_tries
        self.dropped = 0
        """Items that could not be encoded (dropped, logged)."""
        self.rejected: deque[Rejected] = deque(maxlen=100)
        """The latest batches refused for good (set aside, logged, reported by flush)."""
        self.last_error: str | None = None
        """The latest write error, for messages."""
        self._queue: deque[Item] = deque()
        self._retry: deque[_Batch] = deque()  # taken off the queue, not written yet
        # Items taken off the queue, and those written, dropped or set aside. No count
        # of items emitted: emit stays an append. The writer takes items under _done,
        # so taken + len(queue) read under it counts every item emitted before.
        self._taken = 0
        self._done_count = 0
        self._done = threading.Condition()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()  # close() gave up on what is left
        self._idle = False
        self._closed = False
        self._unreported: list[Rejected] = []
        self._dropping: list[Item] = []
        self._failing = False  # a failure was logged; the next success says so
        self._live: set[str] = set()
        self._cancelled: frozenset[str] = frozenset()
        now = time.monotonic()
        self._next_heartbeat = now + heartbeat_interval
        self._next_cancel_poll = now
        self._thread = threading.Thread(
            target=self._run, name=f"hoist-{type(self).__name__}", daemon=True
        )
        self._thread.start()
        _live_writers.add(self)

    # ------------------------------------------------------------------ backend hooks
    @abstractmethod
    def _encode(self, items: list[Item]) -> tuple[Any, int]:
        """Encode the leading items that fit in one write.

        Returns the payload for :meth:`_write` and how many of ``items`` it accounts
        for (the rest go back to the queue). An item that cannot be encoded is passed
        to :meth:`_drop` and skipped (it still counts).
        """

    @abstractmethod
    def _write(self, payload: Any, live: Sequence[str]) -> frozenset[str] | None:
        """Write one batch; ``live`` are the runs still executing here after it.

        Returns the live runs whose cancellation was asked when the write learned it
        (it then also heartbeated them), else ``None``.
        """

    @abstractmethod
    def _heartbeat(self, run_ids: Sequence[str]) -> frozenset[str] | None:
        """Mark the runs alive; returns their cancel requests if that learned them."""

    @abstractmethod
    def _cancel_requested(self, run_ids: Sequence[str]) -> frozenset[str]:
        """The runs among ``run_ids`` whose cancellation was asked."""

    @abstractmethod
    def _is_transient(self, exc: Exception) -> bool:
        """Whether a write that failed with ``exc`` may succeed if repeated unchanged."""

    def _can_split(self, exc: Exception) -> bool:
        """Whether ``exc`` may come from some items only (then the batch is halved to
        find them); ``False`` when every item would be refused alike (a bad token)."""
        return True

    def _release(self) -> None:
        """Free the backend's resources (after the thread stopped)."""

    # ------------------------------------------------------------------ the sink
    def open_run(self, run: Run) -> None:
        self._queue.append(run)
        if self._idle:
            self._wake.set()

    def emit(self, event: EventBase) -> None:
        self._queue.append(event)
        if self._idle:
            self._wake.set()

    def is_cancel_requested(self, run_id: str) -> bool:
        # The writer thread refreshes the set of cancelled live runs in bulk, so this
        # stays a set lookup on the action's thread.
        return run_id in self._cancelled

    @property
    def idle(self) -> bool:
        """Whether the writer thread sleeps until the next item (nothing queued, no
        live run)."""
        return self._idle

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until everything emitted before this call is written.

        Raises:
            StoreError: it could not be written within ``timeout`` seconds, or some of
                it (or of what was emitted before) was refused for good and set aside.
        """
        with self._done:
            target = self._taken + len(self._queue)
        if self._done_count < target:
            self._wait_written(target, timeout)
        self._report_rejected()

    def close(self, timeout: float = 30.0) -> None:
        """Flush (waiting up to ``timeout`` seconds), then stop the writer thread.
        Closing again does nothing.

        Raises:
            StoreError: what was emitted could not all be written (what is left is lost
                with the process).
        """
        if self._closed:
            return
        flushed = False
        try:
            self.flush(timeout)
            flushed = True
        finally:
            self._closed = True
            if not flushed:
                self._stop.set()
            self._wake.set()
            self._thread.join(timeout=5)  # it writes what came after the flush, then ends
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout=1)
            _live_writers.discard(self)
            self._release()

    def _wait_written(self, target: int, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        # Write in this thread when the writer is free: no thread hand-off on the path of
        # callers that need durability now (checkpoints, the end of a CLI run).
        if self._write_lock.acquire(timeout=0 if timeout is None else min(timeout, 0.05)):
            try:
                while self._done_count < target and self._write_next():
                    pass
            finally:
                self._write_lock.release()
        if self._done_count >= target:
            return
        self._wake.set()
        with self._done:
            while self._done_count < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or self._stop.is_set():
                    raise StoreError(
                        f"{self.target} did not accept events in time: {self.last_error}"
                    )
                self._done.wait(0.5 if remaining is None else min(remaining, 0.5))

    def _report_rejected(self) -> None:
        if not self._unreported:
            return
        refused, self._unreported = self._unreported, []
        count = sum(len(r.items) for r in refused)
        raise StoreError(
            f"{self.target} refused {count} runs/events for good (set aside in "
            f".rejected): {refused[-1].error}"
        )

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        backoff = self.interval
        while not self._stop.is_set():
            # Idle (nothing queued, no live run): sleep until woken, so an idle process
            # spends no CPU here. _idle is set before the queue is checked: an item
            # appended meanwhile is either seen here or sees _idle and wakes the writer.
            self._idle = True
            if self._queue or self._retry or self._live or self._closed:
                self._idle = False
            self._wake.wait(None if self._idle else self.interval)
            if self._idle:  # the first item after a quiet spell: gather a batch first
                self._idle = False
                self._wake.clear()
                self._wake.wait(self.interval)  # a flush() cuts this short
            self._wake.clear()
            closing = self._closed
            while not self._stop.is_set():
                with self._write_lock:
                    self._poll()
                    wrote = self._write_next()
                if wrote is None:  # failed: keep the batch, try again after a pause
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    break
                backoff = self.interval
                if not wrote:
                    break
            if closing and not self._queue and not self._retry:
                return

    def _write_next(self) -> bool | None:
        """Write the next batch (the caller holds the write lock).

        Returns True if a batch was written (or set aside), False if there was nothing
        to write, None if the write failed (the batch is kept).
        """
        retry = self._retry
        batch = retry[0] if retry else self._take()
        if batch is None:
            return False
        live = sorted(self._live.union(batch.opened).difference(batch.ended))
        try:
            cancelled = self._write(batch.payload, live)
        except Exception as exc:
            return self._failed(batch, exc)
        if retry and retry[0] is batch:
            retry.popleft()
        if self._failing:
            self._failing = False
            _log.info("%s accepts writes again", self.target)
        self._live.update(batch.opened)
        self._live.difference_update(batch.ended)
        if cancelled is not None:
            self._learned(cancelled)
        self._finished(batch.count)
        return True

    def _take(self) -> _Batch | None:
        queue = self._queue
        if not queue:
            return None
        popleft = queue.popleft
        with self._done:
            items = [popleft() for _ in range(min(len(queue), self.max_items))]
            self._taken += len(items)
        batch, taken = self._batch(items)
        if taken < len(items):
            with self._done:
                queue.extendleft(reversed(items[taken:]))
                self._taken -= len(items) - taken
        return batch

    def _batch(self, items: list[Item]) -> tuple[_Batch, int]:
        payload, taken = self._encode(items)
        held = items[:taken] if taken < len(items) else items
        if self._dropping:
            dropped = {id(item) for item in self._dropping}
            self._dropping = []
            held = [item for item in held if id(item) not in dropped]
        return _Batch(held, payload, taken), taken

    def _drop(self, item: Item, exc: Exception) -> None:
        """Skip an item that cannot be encoded (it never will be): called by _encode."""
        self.dropped += 1
        self._dropping.append(item)
        _log.error("dropped %r: cannot encode it: %s", item, exc)

    def _failed(self, batch: _Batch, exc: Exception) -> bool | None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        retry = self._retry
        if not retry or retry[0] is not batch:
            retry.appendleft(batch)
        if self._is_transient(exc):
            if not self._failing:
                self._failing = True
                _log.warning("%s failed a write, will retry: %s", self.target, self.last_error)
            return None
        batch.tries += 1
        if batch.tries < self.max_tries:
            _log.warning("%s refused a batch (try %d of %d): %s", self.target, batch.tries,
                         self.max_tries, self.last_error)  # fmt: skip
            return None
        retry.popleft()
        if len(batch.items) > 1 and self._can_split(exc):
            # Halve it to find the items at fault: each half gets one more try.
            half = len(batch.items) // 2
            second, _ = self._batch(batch.items[half:])
            first, _ = self._batch(batch.items[:half])
            first.count += batch.count - len(batch.items)  # those dropped when encoded
            first.tries = second.tries = self.max_tries - 1
            retry.appendleft(second)
            retry.appendleft(first)
            return True
        rejected = Rejected(list(batch.items), self.last_error)
        self.rejected.append(rejected)
        self._unreported.append(rejected)
        _log.error("%s refused %d runs/events for good; set aside: %s", self.target,
                   len(batch.items), self.last_error)  # fmt: skip
        self._finished(batch.count)
        return True

    def _finished(self, count: int) -> None:
        with self._done:
            self._done_count += count
            self._done.notify_all()

    def _learned(self, cancelled: frozenset[str]) -> None:
        # A write or heartbeat that answered the cancel flags also counts as both.
        self._cancelled = cancelled
        now = time.monotonic()
        self._next_cancel_poll = now + self.cancel_poll_interval
        self._next_heartbeat = now + self.heartbeat_interval

    def _poll(self) -> None:
        """Heartbeat the live runs and read their cancel flags, when due."""
        if not self._live:
            return
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_interval
            try:
                cancelled = self._heartbeat(sorted(self._live))
            except Exception as exc:  # a failed heartbeat must not stop the writer
                self._poll_failed("record heartbeats", exc)
            else:
                if cancelled is not None:
                    self._learned(cancelled)
        if now >= self._next_cancel_poll:
            self._next_cancel_poll = now + self.cancel_poll_interval
            try:
                self._cancelled = self._cancel_requested(sorted(self._live))
            except Exception as exc:  # a failed poll must not stop the writer
                self._poll_failed("read cancellation flags", exc)

    def _poll_failed(self, what: str, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if not self._failing:  # once per outage, not once per poll
            self._failing = True
            _log.warning("%s: could not %s: %s", self.target, what, self.last_error)
