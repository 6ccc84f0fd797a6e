"""Statements of the store's write path, compiled once per dialect.

Each write of the hot path (a batch of events, new runs, run updates) executes one
precompiled SQL string with ``exec_driver_sql``, skipping SQLAlchemy's per-call statement
construction and cache-key work: the write path then costs little more than the driver's
own ``executemany``. Rows may be dicts (by column key) or tuples (values in the order of
the statement's ``column_keys``); a positional driver (SQLite's) takes such tuples as they
are, with no per-row conversion.

An INSERT of many tuples on SQLite goes further: one multi-row ``VALUES`` statement per
chunk of rows instead of one execution per row. SQLite then runs one statement step per
chunk (the driver releases the GIL for it), which costs less than a row's step each and
lets the thread that emits events run meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

import sqlalchemy as sa

__all__ = ["PreparedStatement"]

# Rows per multi-row INSERT, largest first (those the database's variable limit allows);
# fewer than the smallest go one by one. Few sizes: each is one cached prepared statement.
_CHUNK_ROWS = (4096, 1024, 256, 64, 16)


class PreparedStatement:
    """A statement compiled for one engine's dialect, executed with rows."""

    def __init__(self, engine: sa.Engine, statement: Any, column_keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=engine.dialect, column_keys=list(column_keys))
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ()) if self.positional else ()
        self.columns = tuple(column_keys)
        # Whether tuples in column order are already the driver's parameters.
        self._as_is = self.positional and self.names == self.columns
        self._chunks: list[tuple[int, str]] | None = None  # (rows, SQL), made on first use

    def execute(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Execute once per row dict (``executemany`` for several)."""
        if not rows:
            return
        if self.positional:
            names = self.names
            params: Any = [tuple(row[name] for name in names) for row in rows]
        else:
            params = list(rows)
        self._run(conn, params)

    def execute_values(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Execute once per row tuple (values in ``column_keys`` order); returns the rows
        the database changed (an INSERT that skips rows already stored counts the
        others only)."""
        if not rows:
            return 0
        done = 0
        if self._as_is:
            params: Any = rows if isinstance(rows, list) else list(rows)
            if len(params) >= _CHUNK_ROWS[-1]:
                done, params = self._execute_chunks(conn, params)
                if not params:
                    return done
        elif self.positional:
            index = [self.columns.index(name) for name in self.names]
            params = [tuple(row[i] for i in index) for row in rows]
        else:
            params = [dict(zip(self.columns, row, strict=True)) for row in rows]
        return done + self._run(conn, params)

    def _run(self, conn: sa.Connection, params: list[Any]) -> int:
        result = conn.exec_driver_sql(self.sql, params if len(params) > 1 else params[0])
        return int(result.rowcount)

    def _execute_chunks(self, conn: sa.Connection, rows: list[Any]) -> tuple[int, list[Any]]:
        """Insert the leading rows by multi-row statements; returns the rows the database
        changed, and the rows left."""
        chunks = self._chunks
        if chunks is None:
            chunks = self._chunks = self._chunk_statements(conn)
        start, total, done = 0, len(rows), 0
        for size, sql in chunks:
            while total - start >= size:
                values = tuple(chain.from_iterable(rows[start : start + size]))
                done += conn.exec_driver_sql(sql, values).rowcount
                start += size
        return done, rows[start:]

    def _chunk_statements(self, conn: sa.Connection) -> list[tuple[int, str]]:
        """The multi-row forms of this statement the database allows (none for a
        statement that is not a one-row ``INSERT ... VALUES (?, ...)`` on SQLite)."""
        width = len(self.columns)
        group = "(" + ", ".join("?" * width) + ")"
        if conn.dialect.name != "sqlite" or not self.sql.startswith("INSERT ") or \
                self.sql.count(f"VALUES {group}") != 1:  # fmt: skip
            return []
        driver: Any = conn.connection.driver_connection
        limit = 999  # SQLite's own default before 3.32
        getlimit = getattr(driver, "getlimit", None)
        if getlimit is not None:
            limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return [
            (rows, self.sql.replace(f"VALUES {group}", "VALUES " + ", ".join([group] * rows)))
            for rows in _CHUNK_ROWS
            if rows * width <= limit
        ]
