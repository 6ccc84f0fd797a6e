"""The sink contract. A context calls :meth:`EventSink.open_run` once per run, then
:meth:`EventSink.emit` for each event in ``seq`` order; ``emit`` is on the action's hot
path and must stay cheap: hand the event over (encoded at most), never block on I/O.

Every sink passes the same contract tests (``tests/contracts/test_sink_contract.py``);
the ones that write somewhere slow share one batching writer
(:class:`~hoist.runs.sinks.writer.BatchWriter`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from hoist.runs.models import EventBase, Run

__all__ = ["EventSink"]


class EventSink(ABC):
    """Receives runs and their events."""

    @abstractmethod
    def open_run(self, run: Run) -> None:
        """Record a new run (before any of its events)."""

    @abstractmethod
    def emit(self, event: EventBase) -> None:
        """Accept one event. Must be cheap and must not block on I/O."""

    def flush(self, timeout: float | None = None) -> None:  # noqa: B027 - optional hook
        """Block until everything emitted so far is durable (no-op for memory sinks)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""

    def is_cancel_requested(self, run_id: str) -> bool:
        """Whether someone outside this process asked the run to stop."""
        return False

    def release(self, run_id: str) -> None:  # noqa: B027 - optional hook
        """Stop tracking a run opened here whose end another process records (a worker
        elsewhere emitted its terminal status): no more heartbeats or cancel polls."""
