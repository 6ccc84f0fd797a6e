"""The run store's list and id queries, each served by one index (migration 0008), so
that they answer as fast at a million runs as at a thousand.

A list is a walk down the composite index of its filter (``status``, ``plugin``,
``action``, ``kind``, ``parent_id``, each followed by the list's order ``created_at,
id``); a deep page starts from a keyset cursor (:attr:`RunFilter.cursor`) instead of
skipping rows; an id prefix is a range of the primary key; a short id (its last 8
characters) a seek of the short-id index (migration 0010).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hoist.runs.reader import RunFilter
from hoist.runs.short_ids import looks_short, matches_short_id
from hoist.runs.store.param_match import param_equals
from hoist.runs.store.schema import runs, short_id_of

__all__ = ["find_run_row", "list_query", "prefix_range", "short_id_matches"]

_SHOWN_MATCHES = 6  # ids a short form is looked up to (more than one is ambiguous)


def list_query(flt: RunFilter, dialect: str) -> sa.Select[Any]:
    """``SELECT`` of the runs matching ``flt``, newest first (``created_at``, then
    ``id``, both descending), from its cursor on, one page of ``flt.limit``.

    Several statuses are one walk per status, each stopping at the page's end, merged:
    an ``IN`` list would read every match of every status and sort them."""
    statuses = [str(s) for s in flt.status or ()]
    if len(statuses) < 2:
        return _paged(_matching(flt, statuses, dialect), flt)
    depth = flt.limit + flt.offset
    walks = [
        sa.select(_paged(_matching(flt, [status], dialect), flt, depth=depth).subquery())
        for status in statuses
    ]
    merged = sa.union_all(*walks).subquery()
    return _paged(sa.select(merged), flt, columns=merged.c)


def _matching(flt: RunFilter, statuses: list[str], dialect: str) -> sa.Select[Any]:
    query = sa.select(runs)
    if statuses:
        query = query.where(runs.c.status == statuses[0])
    for column, value in (
        (runs.c.plugin, flt.plugin),
        (runs.c.action, flt.action),
        (runs.c.kind, flt.kind),
        (runs.c.parent_id, flt.parent_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if flt.since is not None:
        query = query.where(runs.c.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(runs.c.created_at < flt.until)
    if flt.cursor is not None:
        # A row-value comparison: both databases seek the index to it (an OR of the
        # two columns' conditions would be a scan from the newest run down).
        order = sa.tuple_(runs.c.created_at, runs.c.id)
        query = query.where(order < sa.tuple_(sa.literal(flt.cursor[0]), sa.literal(flt.cursor[1])))
    for key, value in (flt.params or {}).items():
        query = query.where(param_equals(dialect, key, value))
    return query


def _paged(
    query: sa.Select[Any], flt: RunFilter, *, depth: int | None = None, columns: Any = None
) -> sa.Select[Any]:
    """``query`` newest first, one page (or its first ``depth`` rows, unskipped)."""
    columns = runs.c if columns is None else columns
    query = query.order_by(columns.created_at.desc(), columns.id.desc())
    if depth is not None:
        return query.limit(depth)
    query = query.limit(flt.limit)
    return query.offset(flt.offset) if flt.offset else query


def prefix_range(prefix: str) -> sa.ColumnElement[bool]:
    """``id >= prefix AND id < successor``: the ids starting with ``prefix`` as a range
    of the primary key (a seek on both databases, where ``LIKE 'prefix%'`` is a scan),
    and the exact ``startswith`` test for collations that order other characters
    between the two bounds."""
    successor = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(
        runs.c.id >= prefix,
        runs.c.id < successor,
        runs.c.id.startswith(prefix, autoescape=True),
    )


def find_run_row(conn: sa.Connection, typed: str) -> sa.RowMapping | None:
    """The row of the run ``typed`` names: its id, else a unique prefix of it (6+
    characters), else a unique short form (:mod:`hoist.runs.short_ids`). Each is an index
    seek, so an unknown id costs three seeks at any store size."""
    row = conn.execute(sa.select(runs).where(runs.c.id == typed)).mappings().first()
    if row is not None or len(typed) < 6:
        return row
    rows = conn.execute(sa.select(runs).where(prefix_range(typed)).limit(2)).mappings().all()
    if len(rows) == 1:
        return rows[0]
    if rows or not looks_short(typed):
        return None
    ids = short_id_matches(conn, typed)
    if len(ids) != 1:
        return None
    return conn.execute(sa.select(runs).where(runs.c.id == ids[0])).mappings().first()


def short_id_matches(conn: sa.Connection, typed: str) -> list[str]:
    """The ids (a few at most) whose short form is ``typed`` (any case)."""
    text = typed.lower()
    query = sa.select(runs.c.id).where(short_id_of(runs.c.id) == text).limit(_SHOWN_MATCHES)
    return [run_id for run_id in conn.execute(query).scalars() if matches_short_id(run_id, text)]
