"""The execution contract of services: what a ``Launch`` hands over, and the ABC every
place that runs service executions implements (the in-process pool, the warm Ray pool).

A launch builds the run record (kind ``service``) and hands it over; the executor admits
it or refuses it (:class:`~hoist.errors.ServiceBusyError`, and then no run exists), opens
the run ``queued`` in its sink before :meth:`ServiceExecutor.start` returns (so the
caller's run id always exists), and moves it through ``running`` to its end, reporting
through a :class:`~hoist.services.tracer.Tracer` over the run's context.

A run waiting for a person (``tracer.lock``) is answered through its executor
(:meth:`ServiceExecutor.answer`), which owns the run's open locks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from hoist.runs.models import Run
from hoist.runs.runtime import RuntimeBound
from hoist.services.locks import LockAnswer, LockHandlers

__all__ = ["Execution", "ServiceExecutor"]


@dataclass(slots=True)
class Execution:
    """One launch of a service's entry point.

    Attributes:
        run: the run record (kind ``service``, ``queued``; the executor opens it).
        entry: the resolved entry point (:class:`~hoist.services.entry.EntryPoint`).
        inputs: the validated inputs the entry point receives.
        service: the name of the service (its limits are per service).
        locks: the app's lock forms and leases (``@app.lock``, ``@app.lease``).
    """

    run: Run
    entry: Any
    inputs: dict[str, Any] = field(default_factory=dict)
    service: str = "service"
    locks: LockHandlers | None = None


class ServiceExecutor(RuntimeBound, ABC):
    """Runs service executions: admits them (or refuses when full), runs each to a
    terminal status, cancels on request, and ends its workers on :meth:`close`."""

    @abstractmethod
    def start(self, execution: Execution) -> None:
        """Admit ``execution``, record its run ``queued``, and return at once.

        Raises:
            ServiceBusyError: the service's running executions and queue are full;
                nothing was recorded or started.
        """

    @abstractmethod
    def cancel(self, run_id: str) -> bool:
        """Cancel a queued or running execution; ``True`` when it was one of ours."""

    @abstractmethod
    def answer(self, run_id: str, lock_id: str, values: Any, user: str | None) -> LockAnswer:
        """Answer an open lock of a run: ``values`` are validated by the lock's form and
        lease on the execution side; a valid answer wakes the run. Blocking: call it off
        the pool's loop (an endpoint does so on a worker thread).

        Returns:
            ``answered``; ``errors`` (the lock stays open); ``gone`` (no such open lock).
        """

    @abstractmethod
    def lock_view(self, run_id: str, lock_id: str) -> dict[str, Any] | None:
        """An open lock as its answerer is shown it (see
        :meth:`~hoist.services.locks.LockBoard.view`); ``None`` when there is none."""

    @abstractmethod
    def close(self) -> None:
        """Stop admitting, cancel what runs, end the workers."""
