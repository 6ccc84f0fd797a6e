"""``RunHandle``: follow a submitted run: its status, events, result; cancel it."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from hoist.errors import ActionFailedError, HoistError, RunCancelledError, RunNotFoundError
from hoist.runs.models import Run, RunStatus
from hoist.runs.reader import RunLog

__all__ = ["RunHandle"]


class RunHandle(str):
    """A run started by ``executor.submit(...)``, or attached by id with :meth:`attach`.

    A handle *is* its run id (a ``str``), so it goes wherever an id goes:
    ``executor.get_status(handle)``, ``store.get_run(handle)``, an f-string, JSON.

    Args:
        run_id: the run.
        log: where its record and events can be read.
        future: the in-process result, when the run executes in this process.
        canceller: called by :meth:`cancel` to stop it where it runs.
        flush: called before reads so that what this process emitted is readable.
        initial: the run's record as submitted; the handle answers with it (``queued``)
            until the run is recorded, so a handle is readable from the moment it exists.
        written: the fields the run's context wrote into its record (its
            :attr:`~hoist.plugins.context.RuntimeContext.written`), when it runs here.
    """

    def __new__(cls, run_id: str, *args: Any, **kwargs: Any) -> RunHandle:
        return super().__new__(cls, run_id)

    def __init__(
        self,
        run_id: str,
        log: RunLog,
        *,
        future: Future[Any] | None = None,
        canceller: Any = None,
        flush: Any = None,
        initial: Run | None = None,
        written: Mapping[str, Any] | None = None,
    ) -> None:
        self.run_id = str(run_id)
        self._initial = initial
        self._submitted = initial
        self._written = written
        self._log = log
        self._future = future
        self._canceller = canceller
        self._flush = flush

    @classmethod
    def attach(cls, run_id: str, log: RunLog) -> RunHandle:
        """A handle to an existing run (e.g. one started by another process)."""
        log.get_run(run_id)
        return cls(run_id, log)

    def __str__(self) -> str:
        return self.run_id

    def __reduce__(self) -> Any:  # pickles (to a worker, say) as its plain id
        return (str, (self.run_id,))

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} {self.status}>"

    # state ------------------------------------------------------------------------
    @property
    def run(self) -> Run:
        """The run's current record."""
        self._sync()
        return self._read()

    def _read(self) -> Run:
        try:
            run = self._log.get_run(self.run_id)
        except RunNotFoundError:
            if self._initial is None:
                raise
            return self._initial  # submitted, not recorded yet: still queued
        self._initial = None
        return run

    @property
    def status(self) -> RunStatus:
        """The run's current status."""
        if self._future is not None and not self._future.done():
            return self._log_status()
        self._sync()
        return self._log_status()

    def _log_status(self) -> RunStatus:
        return self._read().status

    def events(self, after_seq: int = 0) -> list[Any]:
        """The run's events with ``seq > after_seq``."""
        self._sync()
        return self._log.events(self.run_id, after_seq)

    def follow(self, after_seq: int = 0) -> Iterator[Any]:
        """The run's events as they are written (from any process), until it ends; a
        run its worker has not recorded yet is waited for (a fresh handle is followable)."""
        from hoist.runs.reader import FOLLOW_POLL, follow_events

        self._sync()
        while self._initial is not None and self._read() is self._initial:
            if self._future is not None and self._future.done():
                break  # ended unrecorded: follow_events names the missing run
            time.sleep(FOLLOW_POLL)
            self._sync()
        yield from follow_events(self._log, self.run_id, after_seq)

    @property
    def future(self) -> Future[Any] | None:
        """The in-process result (done when the run ends), when the run executes in this
        process; ``None`` otherwise (wait on the store instead)."""
        return self._future

    def ended_here(self) -> Run | None:
        """The run's final record as this process wrote it, once it ended here (its
        writes may still be on their way to the store: no read, no wait); ``None`` when
        it has not ended, or does not run in this process."""
        future, written, submitted = self._future, self._written, self._submitted
        if future is None or not future.done() or written is None or submitted is None:
            return None
        status = written.get("status")
        if status is None or not status.is_terminal:
            return None  # ended before it was recorded as ended (e.g. a lost worker)
        run = submitted.copy()
        for name, value in written.items():
            setattr(run, name, value)
        return run

    def done(self) -> bool:
        """True once the run reached a terminal status."""
        if self._future is not None:
            return self._future.done()
        return self._log_status().is_terminal

    # waiting ----------------------------------------------------------------------
    def wait(self, timeout: float | None = None, poll: float = 0.05) -> Run:
        """Block until the run ends; returns its final record.

        Raises:
            TimeoutError: still running after ``timeout`` seconds.
        """
        if self._future is not None:
            try:
                self._future.exception(timeout)
            except FutureTimeout:
                raise TimeoutError(f"run {self.run_id} still running after {timeout}s") from None
            return self.run
        deadline = None if timeout is None else time.monotonic() + timeout
        reap = getattr(self._log, "reap_stale", None)
        next_reap = time.monotonic()
        while True:
            if reap is not None and time.monotonic() >= next_reap:
                reap()  # a run whose worker died ends lost: waiting always ends
                next_reap = time.monotonic() + 2.0
            run = self._read()
            if run.status.is_terminal:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {self.run_id} still running after {timeout}s")
            time.sleep(poll)

    def result(self, timeout: float | None = None) -> Any:
        """Wait, then return the result (typed in-process, JSON data otherwise).

        Raises:
            ActionFailedError: the run failed.
            RunCancelledError: the run was cancelled.
        """
        if self._future is not None:
            try:
                return self._future.result(timeout)
            except FutureTimeout:
                raise TimeoutError(f"run {self.run_id} still running after {timeout}s") from None
        run = self.wait(timeout)
        return _outcome(run)

    def cancel(self) -> None:
        """Ask the run to stop at its next cancellation point."""
        if self._canceller is not None:
            self._canceller()
        else:
            self._log.request_cancel(self.run_id)

    def _sync(self) -> None:
        if self._flush is not None:
            self._flush()


def _outcome(run: Run) -> Any:
    if run.status is RunStatus.SUCCEEDED:
        return run.result
    if run.status is RunStatus.CANCELLED:
        raise RunCancelledError(run.id)
    error = run.error or {}
    if run.status is RunStatus.FAILED:
        raise ActionFailedError(
            run.id,
            str(error.get("type", "Error")),
            str(error.get("message", "")),
            str(error.get("traceback", "")),
        )
    raise HoistError(f"run {run.id} ended {run.status}")
