"""A run's status and kind: the words every layer uses about a run."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "TERMINAL_STATUSES",
    "RunKind",
    "RunStatus",
]


class RunStatus(StrEnum):
    """Lifecycle: ``queued → running (⇄ awaiting) → succeeded | failed | cancelled |
    lost``; ``awaiting`` is a run waiting for a person (a service's lock)."""

    QUEUED = "queued"
    RUNNING = "running"
    AWAITING = "awaiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    @property
    def is_terminal(self) -> bool:
        """True once the run can no longer change."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.LOST}
)


class RunKind(StrEnum):
    """What a run executes."""

    ACTION = "action"
    PIPELINE = "pipeline"
    SERVICE = "service"
    DEPLOYMENT = "deployment"
