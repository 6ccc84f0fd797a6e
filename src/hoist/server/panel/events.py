"""The run page's log lines: each event's own summary (:meth:`EventBase.summary`, the
same text the CLI and the console show) and the severity its line is styled with. Live
events carry their summary in their SSE frame, so ``static/run.js`` computes no text."""

from __future__ import annotations

from hoist.runs.models import ErrorEvent, Event, LogEvent, MessageEvent

__all__ = ["LogLine", "event_level", "log_lines"]

LogLine = tuple[Event, str, str]
"""An event, its summary and its level, as the ``log_line`` macro takes them."""


def event_level(event: Event) -> str:
    """The severity a log line is styled with (letters only: it becomes a CSS class)."""
    if isinstance(event, LogEvent | MessageEvent):
        return "".join(c for c in event.level.lower() if "a" <= c <= "z")[:20] or "info"
    return "error" if isinstance(event, ErrorEvent) else "info"


def log_lines(events: list[Event]) -> list[LogLine]:
    """The lines of a page of the log."""
    return [(e, e.summary(), event_level(e)) for e in events]
