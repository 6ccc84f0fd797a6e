"""Rows of the run store: runs and events to and from their SQL rows, and the run
columns a batch of events changes. Built by hand: this is the write path's hot loop."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hoist.runs.models import EVENT_ADAPTER, RUN_ADAPTER, Event, EventBase, Run
from hoist.runs.reader import run_updates

__all__ = [
    "encode_event",
    "encode_run",
    "event_row",
    "grouped_updates",
    "row_to_event",
    "row_to_run",
    "run_changes",
    "run_row",
]

_JSON_COLUMNS = ("params", "result", "error", "meta")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def run_changes(new_events: Sequence[EventBase]) -> dict[str, dict[str, Any]]:
    """Run id to the (encoded) columns ``new_events`` change, latest value winning."""
    updates: dict[str, dict[str, Any]] = {}
    for event in new_events:
        changed = run_updates(event)
        if changed is not None:
            updates.setdefault(event.run_id, {}).update(_encode(changed))
    return updates


def grouped_updates(
    updates: dict[str, dict[str, Any]],
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Run updates grouped by the columns they set (one executemany per group)."""
    grouped: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for run_id, changed in updates.items():
        params = {f"v_{k}": v for k, v in changed.items()}
        params["run_id_"] = run_id
        grouped.setdefault(tuple(sorted(changed)), []).append(params)
    return grouped


def encode_run(run: Run) -> dict[str, Any]:
    """The ``runs`` row of a new run."""
    return run_row(run)


def encode_event(event: EventBase) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ``events`` row of an event, and the run columns it changes (if any)."""
    changed = run_updates(event)
    return event_row(event), None if changed is None else _encode(changed)


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in _JSON_COLUMNS:
        if key in out:
            out[key] = _dumps(out[key])
    if "status" in out:
        out["status"] = str(out["status"])
    return out


def run_row(run: Run) -> dict[str, Any]:
    """The ``runs`` row of ``run``."""
    # Built by hand: this runs once per run on the write path, and a pydantic dump of
    # the whole record costs several times more.
    return {
        "id": run.id,
        "kind": str(run.kind),
        "parent_id": run.parent_id,
        "plugin": run.plugin,
        "action": run.action,
        "mode": run.mode,
        "status": str(run.status),
        "params": _dumps(run.params),
        "result": None if run.result is None else _dumps(run.result),
        "error": None if run.error is None else _dumps(run.error),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "heartbeat_at": run.heartbeat_at,
        "meta": _dumps(run.meta),
    }


def event_row(event: EventBase) -> dict[str, Any]:
    """The ``events`` row of ``event``."""
    return {
        "run_id": event.run_id,
        "seq": event.seq,
        "ts": event.ts,
        "type": event.type,
        "data": _dumps(event.payload()),
    }


def row_to_run(row: Any) -> Run:
    """A :class:`Run` from its ``runs`` row."""
    data = dict(row)
    for key in _JSON_COLUMNS:
        raw = data.get(key)
        data[key] = json.loads(raw) if raw is not None else None
    if data.get("params") is None:
        data["params"] = {}
    if data.get("meta") is None:
        data["meta"] = {}
    return RUN_ADAPTER.validate_python(data)


def row_to_event(row: Any) -> Event:
    """An event from its ``events`` row."""
    payload = json.loads(row.data)
    payload.update(run_id=row.run_id, seq=row.seq, ts=row.ts, type=row.type)
    event: Event = EVENT_ADAPTER.validate_python(payload)
    return event
