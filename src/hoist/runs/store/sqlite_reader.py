"""A read-only view of a SQLite run store through the standard library's ``sqlite3``: what
``hoist runs list`` and ``hoist runs show`` read, without importing SQLAlchemy (issue 19:
its import alone is ~90 ms of a command that should start in 150).

It serves a store that needs nothing done first: the file exists, its schema is at
:data:`~hoist.runs.store.revision.HEAD_REVISION` (no migration machinery), and no
running run has gone silent (reaping it is a write: the full store does that).
:func:`open_sqlite_reader` answers ``None`` otherwise, and the caller opens the
:class:`~hoist.runs.store.RunStore`.

Its queries are the store's (:mod:`hoist.runs.store.listing`,
:mod:`hoist.runs.store.event_reads`) in SQLite's SQL, served by the same indexes; a test
holds the two equal for every filter, id form and event read.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
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

__all__ = ["SqliteRunReader", "open_sqlite_reader"]

_SQLITE_SCHEMES = ("sqlite:///", "sqlite+pysqlite:///")
_SHORT_FORM = f"substr(id, length(id) - {SHORT_ID_LENGTH - 1})"  # as the index spells it
_SILENT = (
    "SELECT 1 FROM runs WHERE status IN ('running', 'awaiting')"
    " AND coalesce(heartbeat_at, started_at, created_at) < ? LIMIT 1"
)


class _Row(dict[str, Any]):
    """A row readable by key and by attribute, as the row decoders read them."""

    __getattr__ = dict.__getitem__


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> _Row:
    return _Row(zip((c[0] for c in cursor.description), values, strict=True))


def open_sqlite_reader(url: str, stale_after: float = STALE_AFTER) -> SqliteRunReader | None:
    """A reader of the SQLite store at ``url``, or ``None`` when the full store must open
    it instead: another database, a missing file, a schema to migrate, a run silent for
    more than ``stale_after`` seconds to reap, or a file SQLite cannot open read-only."""
    path = _sqlite_path(url)
    if path is None or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return None
    conn.row_factory = _row
    try:
        revision = conn.execute("SELECT version_num AS v FROM alembic_version").fetchone()
        silent = conn.execute(_SILENT, (time.time() - stale_after,)).fetchone()
    except sqlite3.Error:
        revision, silent = None, None
    if revision is None or revision["v"] != HEAD_REVISION or silent is not None:
        conn.close()
        return None
    return SqliteRunReader(conn)


def _sqlite_path(url: str) -> Path | None:
    for scheme in _SQLITE_SCHEMES:
        if url.startswith(scheme):
            rest = url[len(scheme) :]
            return Path(rest) if rest and "?" not in rest and rest != ":memory:" else None
    return None


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


class SqliteRunReader:
    """Runs and events of a SQLite store, read-only (a
    :class:`~hoist.runs.reader.RunLog` for reading; see the module)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _one_run(self, where: str, *args: Any) -> list[Run]:
        rows = self._conn.execute(f"SELECT * FROM runs WHERE {where}", args).fetchall()
        return [row_to_run(row) for row in rows]

    def get_run(self, run_id: str) -> Run:
        """The run with this id, a unique prefix of it (6+ characters) or a unique short
        form, as :meth:`RunStore.get_run <hoist.runs.store.RunStore.get_run>`."""
        found = self._one_run("id = ?", run_id)
        if not found and len(run_id) >= 6:
            successor = run_id[:-1] + chr(ord(run_id[-1]) + 1)
            # SQLite compares text by bytes: the range holds exactly the ids with the prefix.
            found = self._one_run("id >= ? AND id < ? LIMIT 2", run_id, successor)
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
        ids = [row["id"] for row in self._conn.execute(query, (text,))]
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
                f"SELECT * FROM ({walk} {_ORDER} LIMIT ?)" for walk, _ in walks
            )
            sql = f"SELECT * FROM ({sql})"
            args = [arg for _, walk_args in walks for arg in (*walk_args, depth)]
        rows = self._conn.execute(
            f"{sql} {_ORDER} LIMIT ? OFFSET ?", (*args, flt.limit, flt.offset)
        )
        return [row_to_run(row) for row in rows.fetchall()]

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[Event]:
        """The run's events with ``seq > after_seq`` in order (at most ``limit``)."""
        sql = "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        rows = self._conn.execute(sql, (run_id, after_seq, -1 if limit is None else limit))
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
            walks = " UNION ALL ".join(f"SELECT * FROM ({walk})" for _ in kinds)
            walk, args = f"SELECT * FROM ({walks}) {order} LIMIT ?", [*args, limit]
        return [row_to_event(row) for row in self._conn.execute(walk, args)]

    def event_counts(self, run_id: str) -> dict[str, int]:
        """How many events of each type the run has (the writer's tallies)."""
        sql = "SELECT type, count FROM run_tallies WHERE run_id = ?"
        return {row["type"]: int(row["count"]) for row in self._conn.execute(sql, (run_id,))}
