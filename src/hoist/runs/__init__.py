"""Runs, their event log, sinks and the run store."""

from hoist.runs.models import (
    TERMINAL_STATUSES,
    Event,
    EventBase,
    Run,
    RunKind,
    RunStatus,
    new_run_id,
)
from hoist.runs.reader import RunFilter, RunLog

__all__ = [
    "TERMINAL_STATUSES",
    "Event",
    "EventBase",
    "Run",
    "RunFilter",
    "RunKind",
    "RunLog",
    "RunStatus",
    "new_run_id",
]
