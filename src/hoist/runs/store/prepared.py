"""Statements of the store's write path, compiled once per dialect.

Each write of the hot path (a batch of events, new runs, run updates) executes one
precompiled SQL string with ``exec_driver_sql``, skipping SQLAlchemy's per-call statement
construction and cache-key work: the write path then costs little more than the driver's
own ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

__all__ = ["PreparedStatement"]


class PreparedStatement:
    """A statement compiled for one engine's dialect, executed with row dicts."""

    def __init__(self, engine: sa.Engine, statement: Any, column_keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=engine.dialect, column_keys=list(column_keys))
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ()) if self.positional else ()

    def execute(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Execute once per row (``executemany`` for several)."""
        if not rows:
            return
        if self.positional:
            names = self.names
            params: Any = [tuple(row[name] for name in names) for row in rows]
        else:
            params = list(rows)
        conn.exec_driver_sql(self.sql, params if len(params) > 1 else params[0])
