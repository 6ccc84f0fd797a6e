"""The one batching writer behind every sink that writes somewhere slow (the run store,
a Hoist server): :class:`BatchWriter`.

``emit`` encodes the event once, into what the backend writes (a row, a JSON text: no
I/O, no lock), and appends that to a deque. A writer thread wakes every ``interval``
seconds and writes what is queued, in batches of at most ``max_items``.
:meth:`BatchWriter.flush` returns once all that was emitted before the call is written:
that is the acknowledgement. While runs are live the thread also heartbeats them and
reads their cancel flags; idle, it sleeps until the next item.

Why encode on ``emit``: the queue then holds plain rows instead of live event objects,
which the garbage collector would otherwise walk again and again while a flood of events
waits, and the writer thread spends its time in the database driver, which runs without
the interpreter lock beside the action's thread.

A failed write keeps its batch and tries it again, unchanged, after a growing pause.
An error that can pass (:meth:`~BatchWriter._is_transient`: a lost connection, a locked
database, a timeout, a 5xx) is retried until it passes: a hiccup loses nothing. A
target that refuses writes (:meth:`~BatchWriter._refusal`: read-only, no permission,
disk full) is neither: it is said once, every ``flush`` meanwhile raises
:class:`~hoist.errors.StoreUnwritableError` at once (no caller waits for nothing), and
the batch is kept and tried every ``refused_retry`` seconds, so the writer recovers by
itself. Any other error (an integrity error, a 4xx) is tried ``max_tries`` times, then
the batch is halved to find the units at fault, which are set aside
(:attr:`~BatchWriter.rejected`), logged once and reported by the next ``flush``; see
:mod:`hoist.runs.sinks.batches`.

A backend subclasses :class:`BatchWriter` and implements its protected hooks
(:class:`~hoist.runs.sinks.backend.WriterBackend`).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from typing import Any

from hoist.errors import StoreError
from hoist.runs.models import EventBase, Run, StatusEvent
from hoist.runs.sinks.backend import WriterBackend
from hoist.runs.sinks.batches import Batch, Outage, Pending, Rejected

__all__ = ["BatchWriter", "Rejected"]

_log = logging.getLogger("hoist.sinks")
_live_writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    for writer in list(_live_writers):
        try:
            writer.close()
        except StoreError as exc:
            _log.error("%s", exc)


class BatchWriter(WriterBackend):
    """A sink that batches runs and events on a writer thread (see the module docstring).

    Args:
        interval: longest time (s) an event waits before it is written.
        max_items: most runs and events in one batch.
        heartbeat_interval: how often (s) the live runs are marked alive.
        cancel_poll_interval: how often (s) the live runs' cancel flags are read.
        max_backoff: longest pause (s) between two tries of a failed batch.
        max_tries: tries of a batch that fails with an error that cannot pass, before
            it is halved (or set aside).
        refused_retry: pause (s) between tries while the target refuses writes.
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
        refused_retry: float = 5.0,
    ) -> None:
        self.interval = interval
        self.max_items = max_items
        self.heartbeat_interval = heartbeat_interval
        self.cancel_poll_interval = cancel_poll_interval
        self.max_backoff = max_backoff
        self.dropped = 0
        """Runs and events that could not be encoded (dropped, logged)."""
        self.last_error: str | None = None
        """The latest write error, for messages."""
        self.fail_fast = False
        """When the target refuses writes, ask the live runs to stop and leave saying so
        to the caller (whose flush raises): a CLI run fails fast rather than work for a
        record that cannot be kept."""
        self._queue: deque[Any] = deque()  # encoded runs and events
        self._pending = Pending(self.target, max_tries)  # taken off the queue, not written
        # Units taken off the queue, and those written or set aside (none counted on
        # emit: units are taken under _done, so taken + len(queue) counts them all).
        self._taken = 0
        self._done_count = 0
        self._done = threading.Condition()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()  # close() gave up on what is left
        self._idle = False
        self._closed = False
        self._outage = Outage(self.target, refused_retry)
        self._stopped: frozenset[str] = frozenset()  # runs stopped by a refusal
        self._live: set[str] = set()  # runs opened here and not ended
        self._cancelled: frozenset[str] = frozenset()
        self._next_heartbeat = time.monotonic() + heartbeat_interval
        self._next_cancel_poll = 0.0  # as soon as a run is live
        self._thread = threading.Thread(
            target=self._run, name=f"hoist-{type(self).__name__}", daemon=True
        )
        self._thread.start()
        _live_writers.add(self)

    # ------------------------------------------------------------------ the sink
    def open_run(self, run: Run) -> None:
        try:
            unit = self._encode_run(run)
        except Exception as exc:  # it never will encode: drop it rather than block
            self._drop(run, exc)
            return
        self._queue.append(unit)
        self._live.add(run.id)
        if self._idle:
            self._wake.set()

    def emit(self, event: EventBase) -> None:
        try:
            unit = self._encode_event(event)
        except Exception as exc:  # it never will encode: drop it rather than block
            self._drop(event, exc)
            return
        self._queue.append(unit)
        if type(event) is StatusEvent and event.status.is_terminal:
            self._live.discard(event.run_id)  # no more heartbeats or cancel polls
        if self._idle:
            self._wake.set()

    def release(self, run_id: str) -> None:
        self._live.discard(run_id)

    def is_cancel_requested(self, run_id: str) -> bool:
        # The writer thread refreshes the set of cancelled live runs in bulk, so this
        # stays a set lookup on the action's thread.
        return run_id in self._cancelled

    @property
    def rejected(self) -> deque[Rejected]:
        """The latest batches refused for good (set aside, logged, reported by flush)."""
        return self._pending.rejected

    @property
    def idle(self) -> bool:
        """Whether the writer thread sleeps until the next item (nothing queued, no
        live run)."""
        return self._idle

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until everything emitted before this call is written.

        Raises:
            StoreUnwritableError: the target refuses writes now (raised at once; what
                is not written is kept and retried).
            StoreError: it could not be written within ``timeout`` seconds, or some of
                it (or of what was emitted before) was refused for good and set aside.
        """
        with self._done:
            target = self._taken + len(self._queue)
        if self._done_count < target:
            self._wait_written(target, timeout)
        self._pending.report()

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
        self._outage.raise_refusal(self.unwritten())  # no waiting for a refusing store
        self._wake.set()
        with self._done:
            while self._done_count < target:
                self._outage.raise_refusal(self.unwritten())  # _done is reentrant
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or self._stop.is_set():
                    raise StoreError(
                        f"{self.target} did not accept events in time: {self.last_error}"
                    )
                self._done.wait(0.5 if remaining is None else min(remaining, 0.5))

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        backoff = self.interval
        while not self._stop.is_set():
            # Idle (nothing queued, no live run): sleep until woken, so an idle process
            # spends no CPU here. _idle is set before the queue is checked: an item
            # appended meanwhile is either seen here or sees _idle and wakes the writer.
            self._idle = True
            if self._queue or self._pending or self._live or self._closed:
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
                    try:
                        self._poll()
                        wrote = self._write_next()
                    except Exception as exc:  # a bug: keep the thread, and the units
                        self.last_error = f"{type(exc).__name__}: {exc}"
                        _log.exception("%s: the writer failed", self.target)
                        wrote = None
                if wrote is None:  # failed: keep the batch, try again after a pause
                    refused = self._outage.refusal is not None
                    self._stop.wait(self._outage.retry if refused else backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    break
                backoff = self.interval
                if not wrote:
                    break
            if closing and not self._queue and not self._pending:
                return

    def _write_next(self) -> bool | None:
        """Write the next batch (the caller holds the write lock).

        Returns True if a batch was written (or set aside), False if there was nothing
        to write, None if the write failed (the batch is kept).
        """
        batch = self._pending.first() or self._take()
        if batch is None:
            return False
        try:
            cancelled = self._write(batch.payload, sorted(self._live))
        except Exception as exc:
            return self._failed(batch, exc)
        self._pending.written(batch)
        self._outage.recovered()
        if cancelled is not None:
            self._learned(cancelled)
        self._finished(batch.count)
        return True

    def _take(self) -> Batch | None:
        queue = self._queue
        if not queue:
            return None
        popleft = queue.popleft
        with self._done:
            units = [popleft() for _ in range(min(len(queue), self.max_items))]
            self._taken += len(units)
        try:
            batch = self._batch(units)
        except BaseException:
            with self._done:
                queue.extendleft(reversed(units))
                self._taken -= len(units)
            raise
        if batch.count < len(units):
            with self._done:
                queue.extendleft(reversed(units[batch.count :]))
                self._taken -= len(units) - batch.count
        return batch

    def _batch(self, units: list[Any]) -> Batch:
        """One write of the leading units that fit in it (``count`` says how many)."""
        payload, taken = self._prepare(units)
        return Batch(units[:taken] if taken < len(units) else units, payload)

    def _drop(self, item: Run | EventBase, exc: Exception) -> None:
        self.dropped += 1
        _log.error("dropped %r: cannot encode it: %s", item, exc)

    def _failed(self, batch: Batch, exc: Exception) -> bool | None:
        refusal = self._refusal(exc)
        if refusal is not None or self._is_transient(exc):
            self._pending.kept(batch)
            self._failure("write", exc, refusal)
            return None
        self.last_error = f"{type(exc).__name__}: {exc}"
        done = self._pending.refused(batch, self.last_error, self._can_split(exc), self._batch)
        if done is None:
            return None
        self._finished(done)
        return True

    def _finished(self, count: int) -> None:
        with self._done:
            self._done_count += count
            self._done.notify_all()

    def _learned(self, cancelled: frozenset[str]) -> None:
        # A write or heartbeat that answered the cancel flags also counts as both.
        self._cancelled = cancelled | self._stopped
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
                self._failure("record heartbeats", exc, self._refusal(exc))
            else:
                if cancelled is not None:
                    self._learned(cancelled)
        if now >= self._next_cancel_poll:
            self._next_cancel_poll = now + self.cancel_poll_interval
            try:
                self._cancelled = self._cancel_requested(sorted(self._live)) | self._stopped
            except Exception as exc:  # a failed poll must not stop the writer
                self._failure("read cancellation flags", exc, self._refusal(exc))

    def _failure(self, what: str, exc: Exception, refusal: str | None) -> None:
        """A failure that can pass, or a refusal of writes: said once per outage. Waiting
        flushes learn a refusal at once; so do the live runs when they are to stop."""
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._outage.failed(what, self.last_error, refusal, self.unwritten(), self.fail_fast)
        if refusal is not None:
            if self.fail_fast and self._live:
                self._stopped = frozenset(self._live)
                self._cancelled = self._cancelled | self._stopped
            with self._done:
                self._done.notify_all()

    def unwritten(self) -> int:
        """How many items emitted so far are not written yet (what :meth:`flush` would
        wait for; 0: a flush returns at once)."""
        with self._done:
            return self._taken + len(self._queue) - self._done_count
