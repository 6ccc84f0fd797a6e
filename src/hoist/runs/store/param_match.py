"""A run's params compared in SQL: ``RunFilter.params`` on SQLite and PostgreSQL alike.

Params are stored as JSON text; a condition holds when the param is present and equal
to the given JSON value, typed (``3`` matches ``3`` and ``3.0``, not ``"3"``)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from hoist.runs.store.schema import runs

__all__ = ["param_equals"]


def param_equals(dialect: str, key: str, value: Any) -> sa.ColumnElement[bool]:
    """The condition "run param ``key`` equals ``value``" in ``dialect``'s SQL."""
    if dialect == "postgresql":
        # Imported here: the PostgreSQL dialect (with asyncpg's) costs every CLI
        # command on SQLite tens of milliseconds of start-up.
        from sqlalchemy.dialects.postgresql import JSONB

        doc = sa.cast(runs.c.params, JSONB)
        found = doc.op("->")(sa.literal(key, sa.Text))
        return found == sa.cast(sa.literal(json.dumps(value), sa.Text), JSONB)
    if '"' in key or "\\" in key:  # not expressible as a SQLite JSON path: no run has it
        return sa.false()
    path = f'$."{key}"'
    kind = sa.func.json_type(runs.c.params, path)
    if value is None or isinstance(value, bool):
        return kind == json.dumps(value)  # 'null', 'true' or 'false'
    if isinstance(value, str):
        return sa.and_(kind == "text", sa.func.json_extract(runs.c.params, path) == value)
    if isinstance(value, int | float):
        numeric = kind.in_(["integer", "real"])
        return sa.and_(numeric, sa.func.json_extract(runs.c.params, path) == value)
    compact = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return sa.func.json_extract(runs.c.params, path) == compact
