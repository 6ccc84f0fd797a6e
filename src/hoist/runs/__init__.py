"""Runs, their event log, sinks and the run store."""

from typing import TYPE_CHECKING

from hoist._lazy import lazy_getattr
from hoist.runs.models import (
    TERMINAL_STATUSES,
    EventBase,
    Run,
    RunKind,
    RunStatus,
    new_run_id,
)
from hoist.runs.reader import RunFilter, RunLog

if TYPE_CHECKING:
    from hoist.runs.events import Event

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

# ``Event`` imports pydantic: made on first access (hoist.runs.models).
__getattr__ = lazy_getattr(__name__, {"Event": "hoist.runs.events"}, globals())
