"""A read-only view of a run store through its database's own driver (the standard
library's ``sqlite3``, or ``psycopg``): what ``hoist runs list|show|logs|events`` read,
without importing SQLAlchemy (issue 19: its import alone is ~90 ms of a command that
should start in 150).

It serves a store that needs nothing done first: it exists, its schema is at
:data:`~hoist.runs.store.revision.HEAD_REVISION` (no migration machinery), and no
running run has gone silent (reaping it is a write: the full store does that).
:func:`open_run_reader` answers ``None`` otherwise, and the caller opens the
:class:`~hoist.runs.store.RunStore`.

Its queries are the store's (:mod:`hoist.runs.store.listing`,
:mod:`hoist.runs.store.event_reads`) in SQL both databases read alike, served by the
same indexes; a test holds the two equal, on both, for every filter, id form and event
read.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoist.errors import RunNotFoundError
from hoist.runs.models import Run, RunStatus
from hoist.runs.reader import STALE_AFTER, RunFilter
from hoist.runs.short_ids import SHORT_ID_LENGTH, looks_short, matches_short_id
from hoist.runs.store.revision import HEAD_REVISION
from hoist.runs.store.rows import row_to_event, row_to_run

if TYPE_CHECKING:
    from hoist.runs.models import Event

__all__ = ["RunReader", "open_run_reader"]

_SQLITE_SCHEMES = ("sqlite:///", "sqlite+pysqlite:///")
_POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
_SHORT_FORM = f"substr(id, length(id) - {SHORT_ID_LENGTH - 1})"  # as the index spells it
_SILENT = (
    "SELECT 1 FROM runs WHERE status IN ('running', 'awaiting')"
    " AND coalesce(heartbeat_at, started_at, created_at) < ? LIMIT 1"
)


class _Row(dict[str, Any]):
    """A row readable by key and by attribute, as the row decoders read them."""

    __getattr__ = dict.__getitem__


Query = Callable[[str, Sequence[Any]], list[_Row]]
"""Runs one statement (``?`` marks its arguments) and answers its rows."""


def open_run_reader(url: str, stale_after: float = STALE_AFTER) -> RunReader | None:
    """A reader of the store at ``url`` (SQLite or PostgreSQL), or ``None`` when the full
    store must open it instead: another database or driver missing, a store missing or
    unreachable, a schema to migrate, or a run silent for more than ``stale_after``
    seconds to reap."""
    opened = _open_sqlite(url) if url.startswith(_SQLITE_SCHEMES) else _open_postgres(url)
    if opened is None:
        return None
    reader = RunReader(*opened)
    try:
        revision = reader.query("SELECT version_num AS v FROM alembic_version", ())
        silent = reader.query(_SILENT, (time.time() - stale_after,))
    except Exception:  # the driver's error: no such table, a dropped connection
        revision, silent = [], []
    if not revision or revision[0]["v"] != HEAD_REVISION or silent:
        reader.close()
        return None
    return reader


def _open_sqlite(url: str) -> tuple[Query, Callable[[], None]] | None:
    rest = url.split(":///", 1)[1]
    path = Path(rest)
    if not rest or "?" in rest or rest == ":memory:" or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return None

    def query(sql: str, args: Sequence[Any]) -> list[_Row]:
        cursor = conn.execute(sql, tuple(args))
        names = [column[0] for column in cursor.description or ()]
        return [_Row(zip(names, values, strict=True)) for values in cursor.fetchall()]

    return query, conn.close


def _open_postgres(url: str) -> tuple[Query, Callable[[], None]] | None:
    if not url.startswith(_POSTGRES_SCHEMES):
        return None
    try:
        import psycopg

        conn = psycopg.connect(
            "postgresql://" + url.split("://", 1)[1], autocommit=True, connect_timeout=5
        )
    except Exception:  # no driver, or no server: the store says why
        return None

    def query(sql: str, args: Sequence[Any]) -> list[_Row]:
        cursor = conn.execute(sql.replace("?", "%s"), tuple(args))
        if cursor.description is None:  # a statement without rows
            return []
        names = [column.name for column in cursor.description]
        return [_Row(zip(names, values, strict=True)) for values in cursor.fetchall()]

    return query, conn.close


_ORDER = "ORDER BY created_at DESC, id DESC"


def _matching(flt: RunFilter, statuses: list[str]) -> tuple[str, list[Any]]:
    """``SELECT`` of the runs matching ``flt`` (one status at most) and its arguments."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("status", statuses[0] if statuses else None),
        ("plugin", flt.plugin),
        ("action", flt.action),
        ("kind", flt.kind),
        ("parent_id", flt.parent_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if flt.since is not None:
        where.append("created_at >= ?")
        args.append(flt.since)
    if flt.until is not None:
        where.append("created_at < ?")
        args.append(flt.until)
    if flt.cursor is not None:
        where.append("(created_at, id) < (?, ?)")
        args += [float(flt.cursor[0]), flt.cursor[1]]
    sql = "SELECT * FROM runs"
    return (f"{sql} WHERE {' AND '.join(where)}" if where else sql), args


class RunReader:
    """Runs and events of a store, read-only (a :class:`~hoist.runs.reader.RunLog` for
    reading; see the module).

    Args:
        query: runs a statement on the store's connection.
        close: closes that connection.
    """

    def __init__(self, query: Query, close: Callable[[], None]) -> None:
        self.query = query
        self._close = close

    def close(self) -> None:
        """Close the connection."""
        self._close()

    def _one_run(self, where: str, *args: Any) -> list[Run]:
        return [row_to_run(row) for row in self.query(f"SELECT * FROM runs WHERE {where}", args)]

    def get_run(self, run_id: str) -> Run:
        """The run with this id, a unique prefix of it (6+ characters) or a unique short
        form, as :meth:`RunStore.get_run <hoist.runs.store.RunStore.get_run>`."""
        found = self._one_run("id = ?", run_id)
        if not found and len(run_id) >= 6:
            successor = run_id[:-1] + chr(ord(run_id[-1]) + 1)
            # The range seeks the key; LIKE keeps it exact under any collation.
            pattern = run_id.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
            found = self._one_run(
                "id >= ? AND id < ? AND id LIKE ? ESCAPE '/' LIMIT 2", run_id, successor, pattern
            )
            if not found and looks_short(run_id):
                ids = self.short_id_matches(run_id)
                found = self._one_run("id = ?", ids[0]) if len(ids) == 1 else []
        if len(found) != 1:
            raise RunNotFoundError(run_id)
        return found[0]

    def short_id_matches(self, typed: str) -> list[str]:
        """The ids (a few at most) whose short form is ``typed``."""
        text = typed.lower()
        query = f"SELECT id FROM runs WHERE {_SHORT_FORM} = ? LIMIT 6"
        ids = [row["id"] for row in self.query(query, (text,))]
        return [run_id for run_id in ids if matches_short_id(run_id, text)]

    def list_runs(self, flt: RunFilter | None = None) -> list[Run]:
        """Runs matching ``flt``, newest first, as the store lists them (several statuses:
        a walk per status, merged; a filter on params needs the store's JSON comparison:
        it raises ``ValueError`` here)."""
        flt = flt or RunFilter()
        if flt.params:
            raise ValueError("a filter on params needs the run store, not its reader")
        statuses = [str(RunStatus(s)) for s in flt.status or ()]
        if len(statuses) < 2:
            sql, args = _matching(flt, statuses)
        else:
            walks = [_matching(flt, [status]) for status in statuses]
            depth = flt.limit + flt.offset
            sql = " UNION ALL ".join(
                f"SELECT * FROM ({walk} {_ORDER} LIMIT ?) AS walk{n}"
                for n, (walk, _) in enumerate(walks)
            )
            sql = f"SELECT * FROM ({sql}) AS merged"
            args = [arg for _, walk_args in walks for arg in (*walk_args, depth)]
        rows = self.query(f"{sql} {_ORDER} LIMIT ? OFFSET ?", (*args, flt.limit, flt.offset))
        return [row_to_run(row) for row in rows]

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[Event]:
        """The run's events with ``seq > after_seq`` in order (at most ``limit``)."""
        sql = "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq"
        if limit is None:
            rows = self.query(sql, (run_id, after_seq))
        else:
            rows = self.query(f"{sql} LIMIT ?", (run_id, after_seq, limit))
        return [row_to_event(row) for row in rows]

    def events_of_type(
        self, run_id: str, types: Sequence[str], limit: int, *, newest_first: bool = False
    ) -> list[Event]:
        """Up to ``limit`` of the run's events whose type is in ``types``, in ``seq``
        order (newest first if asked): a walk of ``events(run_id, type, seq)`` per type,
        merged (as the store's :func:`~hoist.runs.store.event_reads.of_type_query`)."""
        order = "ORDER BY seq DESC" if newest_first else "ORDER BY seq"
        walk = f"SELECT * FROM events WHERE run_id = ? AND type = ? {order} LIMIT ?"
        kinds = list(dict.fromkeys(types))
        args = [arg for kind in kinds for arg in (run_id, kind, limit)]
        if len(kinds) > 1:
            walks = " UNION ALL ".join(
                f"SELECT * FROM ({walk}) AS walk{n}" for n in range(len(kinds))
            )
            walk, args = f"SELECT * FROM ({walks}) AS merged {order} LIMIT ?", [*args, limit]
        return [row_to_event(row) for row in self.query(walk, args)]

    def event_counts(self, run_id: str) -> dict[str, int]:
        """How many events of each type the run has (the writer's tallies)."""
        sql = "SELECT type, count FROM run_tallies WHERE run_id = ?"
        return {row["type"]: int(row["count"]) for row in self.query(sql, (run_id,))}
