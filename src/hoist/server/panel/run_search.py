"""The runs list's search: the query of ``/runs`` (status, kind, plugin, action, a time
range and ``key=value`` params) read into a :class:`RunFilter` for the store, so the
list is filtered server-side however many runs there are."""

from __future__ import annotations

import calendar
import json
import shlex
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query

from hoist.errors import UserInputError
from hoist.runs.models import RunKind, RunStatus
from hoist.runs.reader import RunFilter

__all__ = ["RunSearch", "parse_params", "parse_time", "run_search"]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_MAX_PARAMS = 10


@dataclass(frozen=True)
class RunSearch:
    """What the runs list was asked for: the store's filter and the query to keep in
    the list's links and form (only the fields given)."""

    status: RunStatus | None = None
    kind: RunKind | None = None
    plugin: str | None = None
    action: str | None = None
    since: float | None = None
    until: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    def filter(
        self, limit: int, offset: int = 0, cursor: tuple[float, str] | None = None
    ) -> RunFilter:
        """The store's filter for one page of the list (after ``cursor``, a keyset)."""
        return RunFilter(
            status=[self.status] if self.status else None,
            kind=None if self.kind is None else str(self.kind),
            plugin=self.plugin, action=self.action, since=self.since, until=self.until,
            params=self.params or None, limit=limit, offset=offset, cursor=cursor,
        )  # fmt: skip


def _name(value: str | None, what: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 200 or not set(value) <= _NAME_CHARS:
        raise UserInputError(f"Not a {what} name: {value[:60]!r}")
    return value


def parse_time(text: str | None, *, end: bool = False) -> float | None:
    """A UTC date (``2026-05-01``) or date and time (``2026-05-01T13:45``) as a Unix
    time; a date alone means its start, or its end with ``end`` (an inclusive "until")."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = time.strptime(text, "%Y-%m-%d")
    except ValueError:
        day = None
    if day is not None:
        return calendar.timegm(day) + (86_400 if end else 0)
    for fmt in _TIME_FORMATS:
        try:
            return float(calendar.timegm(time.strptime(text, fmt)))
        except ValueError:
            continue
    raise UserInputError(f"Not a date or time: {text[:40]!r} (use 2026-05-01 or 2026-05-01T13:45)")


def parse_params(text: str | None) -> dict[str, Any]:
    """``key=value`` pairs separated by spaces (quote a value holding one); a value that
    reads as JSON (``0.1``, ``true``, ``[1, 2]``) is that value, else it is text."""
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        raise UserInputError(f"Params search: {exc}") from None
    found: dict[str, Any] = {}
    for word in words[: _MAX_PARAMS + 1]:
        key, sep, raw = word.partition("=")
        if not sep or not key:
            raise UserInputError(f"Params search: {word[:60]!r} is not key=value")
        try:
            found[key] = json.loads(raw)
        except ValueError:
            found[key] = raw
    if len(found) > _MAX_PARAMS:
        raise UserInputError(f"Params search: at most {_MAX_PARAMS} conditions")
    return found


def run_search(
    status: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    plugin: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    param: Annotated[str | None, Query(max_length=1000)] = None,
) -> RunSearch:
    """The runs list's query (a FastAPI dependency); empty fields are no condition."""
    given = {"status": status, "kind": kind, "plugin": plugin, "action": action,
             "since": since, "until": until, "param": param}  # fmt: skip
    query = {k: str(v).strip() for k, v in given.items() if v is not None and str(v).strip()}
    try:
        found_status = RunStatus(status) if status else None
        found_kind = RunKind(kind) if kind else None
    except ValueError:
        raise UserInputError("No such status or kind.") from None
    return RunSearch(
        status=found_status, kind=found_kind,
        plugin=_name(plugin, "plugin"), action=_name(action, "action"),
        since=parse_time(since), until=parse_time(until, end=True),
        params=parse_params(param), query=query,
    )  # fmt: skip
