"""The run page's log lines: each event's own summary (:meth:`EventBase.summary`, the
same text the CLI and the console show) and the severity its line is styled with. Live
events carry their summary in their SSE frame, so ``static/run.js`` computes no text; it
only cuts an output's line as :func:`log_text` does (the Output section shows it whole)."""

from __future__ import annotations

from hoist.runs.models import ErrorEvent, Event, LogEvent, MessageEvent, OutputEvent

__all__ = ["OUTPUT_LINE_MAX", "LogLine", "event_level", "log_lines", "log_text"]

OUTPUT_LINE_MAX = 300
"""Characters of an output's summary its log line shows (``run.js`` cuts the same)."""

LogLine = tuple[Event, str, str]
"""An event, its summary and its level, as the ``log_line`` macro takes them."""


def event_level(event: Event) -> str:
    """The severity a log line is styled with (letters only: it becomes a CSS class)."""
    if isinstance(event, LogEvent | MessageEvent):
        return "".join(c for c in event.level.lower() if "a" <= c <= "z")[:20] or "info"
    return "error" if isinstance(event, ErrorEvent) else "info"


def log_text(event: Event) -> str:
    """The text of the event's log line: its summary, an output's cut to
    :data:`OUTPUT_LINE_MAX` characters."""
    text = event.summary()
    if isinstance(event, OutputEvent) and len(text) > OUTPUT_LINE_MAX:
        return text[:OUTPUT_LINE_MAX] + "…"
    return text


def log_lines(events: list[Event]) -> list[LogLine]:
    """The lines of a page of the log."""
    return [(e, log_text(e), event_level(e)) for e in events]
