"""The hooks a backend of the one :class:`~hoist.runs.sinks.writer.BatchWriter`
implements: how it encodes, batches and writes units, heartbeats its live runs, reads
their cancel flags, and which of its errors can pass or mean writes are refused."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from hoist.runs.models import EventBase, Run
from hoist.runs.sinks.base import EventSink

__all__ = ["WriterBackend"]


class WriterBackend(EventSink):
    """The protected hooks of a :class:`~hoist.runs.sinks.writer.BatchWriter` backend
    (``_encode_run``, ``_encode_event``, ``_prepare``, ``_write``, ``_heartbeat``,
    ``_cancel_requested``, ``_is_transient``; optionally ``_refusal``, ``_can_split``,
    ``_release``)."""

    @abstractmethod
    def _encode_run(self, run: Run) -> Any:
        """What to queue for a new run (called by ``open_run``; may raise)."""

    @abstractmethod
    def _encode_event(self, event: EventBase) -> Any:
        """What to queue for an event (called by ``emit``, on the action's hot path:
        keep it lean; may raise)."""

    @abstractmethod
    def _prepare(self, units: list[Any]) -> tuple[Any, int]:
        """The payload of one write, made of the leading queued units that fit in it,
        and how many those are (the rest go back to the queue)."""

    @abstractmethod
    def _write(self, payload: Any, live: Sequence[str]) -> frozenset[str] | None:
        """Write one batch; ``live`` are the runs still executing here.

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

    def _refusal(self, exc: Exception) -> str | None:
        """Why the target refuses writes for now (read-only, no permission, full), if
        that is what ``exc`` says; ``None`` for any other failure."""
        return None

    def _can_split(self, exc: Exception) -> bool:
        """Whether ``exc`` may come from some items only (then the batch is halved to
        find them); ``False`` when every item would be refused alike (a bad token)."""
        return True

    def _release(self) -> None:
        """Free the backend's resources (after the thread stopped)."""
