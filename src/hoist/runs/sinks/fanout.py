"""Send every run and event to several sinks (e.g. the store and the console)."""

from __future__ import annotations

from collections.abc import Iterable

from hoist.runs.models import EventBase, Run
from hoist.runs.sinks.base import EventSink

__all__ = ["FanoutSink"]


class FanoutSink(EventSink):
    """Tee: forwards to each sink in order."""

    def __init__(self, sinks: Iterable[EventSink]) -> None:
        self.sinks = tuple(sinks)

    def open_run(self, run: Run) -> None:
        for sink in self.sinks:
            sink.open_run(run)

    def emit(self, event: EventBase) -> None:
        for sink in self.sinks:
            sink.emit(event)

    def flush(self, timeout: float | None = None) -> None:
        for sink in self.sinks:
            sink.flush(timeout)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def is_cancel_requested(self, run_id: str) -> bool:
        return any(sink.is_cancel_requested(run_id) for sink in self.sinks)
