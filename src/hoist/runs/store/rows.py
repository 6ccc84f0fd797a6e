"""Rows of the run store: runs and events to and from their SQL rows, and the run
columns a batch of events changes. Built by hand: this is the write path's hot loop.

Values become JSON through pydantic's serializer, as on the wire (``EVENT_ADAPTER``):
an event's ``data`` reads the same whichever way it reached the store. Pydantic is
imported on the first write: listing runs and reading their logs (``hoist runs list``,
``hoist runs show``) never imports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, cast

from hoist.runs.events import EVENT_TYPES
from hoist.runs.models import (
    ErrorEvent,
    EventBase,
    ResultEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
)
from hoist.runs.reader import run_updates

if TYPE_CHECKING:
    from hoist.runs.models import Event

__all__ = [
    "EVENT_COLUMNS",
    "Folding",
    "batch_rows",
    "dumps",
    "encode_event",
    "encode_run",
    "event_row",
    "event_unit",
    "grouped_updates",
    "row_to_event",
    "row_to_run",
    "run_changes",
    "run_row",
]

EVENT_COLUMNS = ("run_id", "seq", "ts", "type", "data")
"""The ``events`` columns, in the order of :func:`event_row`'s values."""

_JSON_COLUMNS = ("params", "result", "error", "meta")
_FOLDED = frozenset({StatusEvent, ResultEvent, ErrorEvent})  # events that change a run row
_BASE_FIELDS = {f.name for f in fields(EventBase)}  # columns of their own, not in ``data``
_DATA: dict[type, Callable[..., bytes]] = {}  # event class -> its serializer's to_json


def _data_json(cls: type) -> Callable[..., bytes]:
    """The JSON serializer of an event class's ``data`` (made once per class)."""
    to_json_ = _DATA.get(cls)
    if to_json_ is None:
        from pydantic import TypeAdapter

        to_json_ = _DATA[cls] = TypeAdapter(cls).serializer.to_json
    return to_json_


_to_json: Callable[..., bytes] | None = None  # pydantic_core.to_json, on the first write


def dumps(value: Any) -> str:
    """Compact JSON; a value JSON has no type for becomes its ``str``."""
    return (_to_json or _load_to_json())(value, fallback=str).decode()


def _load_to_json() -> Callable[..., bytes]:
    global _to_json  # imported once, on the first write
    from pydantic_core import to_json

    _to_json = to_json
    return to_json


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


def encode_event(event: EventBase) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """The ``events`` row of an event, and the run columns it changes (if any)."""
    changed = run_updates(event)
    return event_row(event), None if changed is None else _encode(changed)


class Folding:
    """An event's ``events`` row, and the run columns the event changes."""

    __slots__ = ("changes", "row")

    def __init__(self, row: tuple[Any, ...], changes: dict[str, Any]) -> None:
        self.row = row
        self.changes = changes

    def __repr__(self) -> str:
        return f"Folding({self.row!r}, {self.changes!r})"


def event_unit(event: EventBase) -> tuple[Any, ...] | Folding:
    """What a sink queues for ``event``: its ``events`` row, as a :class:`Folding` when
    the event changes its run's row (status, result, error).

    Raises:
        pydantic_core.PydanticSerializationError: a value cannot be made JSON.
    """
    cls = type(event)
    data = (_DATA.get(cls) or _data_json(cls))(
        event, exclude=_BASE_FIELDS, warnings=False, fallback=str
    )
    row = (event.run_id, event.seq, event.ts, event.type, data.decode())
    if cls in _FOLDED:
        changed = run_updates(event)
        if changed is not None:
            return Folding(row, _encode(changed))
    return row


def batch_rows(
    units: Sequence[tuple[Any, ...] | Folding | dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]], dict[str, dict[str, Any]]]:
    """What a batch of queued units writes (:func:`event_unit` s, and :func:`run_row` s
    of new runs): ``runs`` rows, ``events`` rows, and the run columns the events change
    (latest value winning), for :meth:`~hoist.runs.store.RunStore.write_rows`."""
    run_rows: list[dict[str, Any]] = []
    event_rows: list[tuple[Any, ...]] = []
    updates: dict[str, dict[str, Any]] = {}
    append = event_rows.append
    for unit in units:
        kind = type(unit)
        if kind is tuple:
            append(unit)  # type: ignore[arg-type]
        elif kind is Folding:
            append(unit.row)  # type: ignore[union-attr]
            updates.setdefault(unit.row[0], {}).update(unit.changes)  # type: ignore[union-attr]
        else:
            run_rows.append(unit)  # type: ignore[arg-type]
    return run_rows, event_rows, updates


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in _JSON_COLUMNS:
        if key in out:
            out[key] = dumps(out[key])
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
        "params": dumps(run.params),
        "result": None if run.result is None else dumps(run.result),
        "error": None if run.error is None else dumps(run.error),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "heartbeat_at": run.heartbeat_at,
        "meta": dumps(run.meta),
    }


def event_row(event: EventBase) -> tuple[Any, ...]:
    """The ``events`` row of ``event``: its values in :data:`EVENT_COLUMNS` order."""
    data = _data_json(type(event))(event, exclude=_BASE_FIELDS, warnings=False, fallback=str)
    return (event.run_id, event.seq, event.ts, event.type, data.decode())


def row_to_run(row: Any) -> Run:
    """A :class:`Run` from its ``runs`` row (a mapping). Built by hand, as :func:`run_row`
    writes it: the columns are typed and ``NOT NULL`` where the fields are, so only the
    JSON columns and the two enums need decoding (no pydantic on the read path)."""
    return Run(
        id=row["id"],
        kind=RunKind(row["kind"]),
        parent_id=row["parent_id"],
        plugin=row["plugin"],
        action=row["action"],
        mode=row["mode"],
        status=RunStatus(row["status"]),
        params=_loads(row["params"]) or {},
        result=_loads(row["result"]),
        error=_loads(row["error"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        heartbeat_at=row["heartbeat_at"],
        meta=_loads(row["meta"]) or {},
    )


def _loads(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def row_to_event(row: Any) -> Event:
    """An event from its ``events`` row (with attributes ``run_id``, ``seq``, ``ts``,
    ``type``, ``data``). Built by hand, as :func:`event_row` wrote it (the writer's own
    JSON of the event's fields: only a status needs its enum back), so reading a log
    needs no pydantic; a row the event class does not take (a type or a field this
    version does not know) is validated, as from outside."""
    payload = json.loads(row.data)
    cls = EVENT_TYPES.get(row.type)
    if cls is not None:
        try:
            event: Any = cls(run_id=row.run_id, seq=row.seq, ts=row.ts, **payload)
        except TypeError:
            pass
        else:
            if cls is StatusEvent:
                event.status = RunStatus(event.status)
            return cast("Event", event)
    from hoist.runs.events import EVENT_ADAPTER

    payload.update(run_id=row.run_id, seq=row.seq, ts=row.ts, type=row.type)
    validated: Event = EVENT_ADAPTER.validate_python(payload)
    return validated
