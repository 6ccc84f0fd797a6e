"""One line of text per event, for the run page's log (``static/run.js`` mirrors it for
events that arrive live)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["event_level", "event_text"]

_MAX = 500


def _json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def event_text(event: Any) -> str:
    """A short, plain-text description of an event (escaped by the template)."""
    kind = event.type
    if kind == "status":
        return f"status → {event.status}"
    if kind == "progress":
        return f"{event.category or 'progress'} {_num(event.current)} / {_num(event.total)}"
    if kind == "metrics":
        values = ", ".join(f"{k}={_num(v)}" for k, v in event.values.items())
        return f"{event.category}: {values}" if event.category else values
    if kind == "log":
        return str(event.message)
    if kind == "message":
        return str(event.text)
    if kind in ("dev", "custom"):
        return f"{event.name} {_json(event.data)}"
    if kind == "step":
        return f"{event.step} {event.phase}" + (f": {event.detail}" if event.detail else "")
    if kind == "artifact":
        return str(event.name or event.path)
    if kind == "checkpoint":
        return str(event.name)
    if kind == "result":
        return _json(event.value)
    if kind == "error":
        return f"{event.error_type}: {event.message}"
    return _json(event.payload())  # pragma: no cover - every type is handled above


def event_level(event: Any) -> str:
    """The severity a log line is styled with (letters only: it becomes a CSS class)."""
    if event.type in ("log", "message"):
        return "".join(c for c in str(event.level).lower() if "a" <= c <= "z")[:20] or "info"
    if event.type == "error":
        return "error"
    return "info"
