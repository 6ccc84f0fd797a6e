"""One execution's gate onto its pool's sink: everything the run reports passes until its
terminal status, nothing after (the late output of a cancelled sync thread, a tracer
call from a task that outlived the run)."""

from __future__ import annotations

import threading

from hoist.plugins.context import RuntimeContext
from hoist.runs.models import EventBase, Run, RunStatus, StatusEvent
from hoist.runs.sinks.base import EventSink

__all__ = ["RunGate"]


class RunGate(EventSink):
    """One execution's view of the pool's sink: it forwards the run's events until its
    terminal status and drops the rest (a cancelled sync thread's late output)."""

    __slots__ = ("ended", "lock", "sink")

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.ended = False
        # Reentrant: seal() emits the terminal status through emit() while holding it.
        self.lock = threading.RLock()

    def open_run(self, run: Run) -> None:
        self.sink.open_run(run)

    def emit(self, event: EventBase) -> None:
        with self.lock:
            if self.ended:
                return
            if type(event) is StatusEvent and event.status.is_terminal:
                self.ended = True
            self.sink.emit(event)

    def seal(self, ctx: RuntimeContext, status: RunStatus) -> bool:
        """End the run with ``status`` now, unless it has ended; whether it did."""
        with self.lock:
            if self.ended:
                return False
            ctx.emit_status(status)
            return True

    def flush(self, timeout: float | None = None) -> None:
        self.sink.flush(timeout)

    def is_cancel_requested(self, run_id: str) -> bool:
        return self.sink.is_cancel_requested(run_id)
