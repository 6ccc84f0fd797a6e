"""A small summary of each run's log, kept by the writer (issue 19, migration 0009).

A run page asks "how many events of each type", "the newest event of each progress bar";
counted from the log, they cost as much as the log is long. The writer keeps them
instead, in the transaction that inserts the events, one upsert per run and type (and
per run and bar) of a batch, whatever its size:

- :data:`~hoist.runs.store.schema.run_tallies`: per run and event type, how many events;
- :data:`~hoist.runs.store.schema.run_progress`: per run and progress bar, the ``seq`` of
  its newest event. A bar is named by its category as JSON, as the event's ``data``
  holds it (:data:`MAIN_BAR`, ``null``, is the run's main bar; ``"epochs"`` a category):
  read straight from the row, no JSON decoded on the write path.

Every event counted must be one the database took: a batch must hold only new events
(:meth:`Tallies.add`), which the store makes sure of (``RunStore._add_events``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from hoist.runs.store.prepared import PreparedStatement
from hoist.runs.store.rows import dumps
from hoist.runs.store.schema import run_progress, run_tallies

__all__ = ["MAIN_BAR", "Tallies", "bar_of", "tally"]

MAIN_BAR = "null"
"""The :data:`~hoist.runs.store.schema.run_progress` bar of a run's main progress (no
category)."""

_KEY = '"category":'
_MAIN_END = ',"category":null}'
_BARS: dict[str, str] = {}  # a row's text after _KEY -> its bar (canonical JSON only)
_MAX_BARS = 4096


def bar_of(data: str) -> str:
    """The bar of a progress event's ``data``: its category as JSON (``null``: the main
    bar). The writer's rows end with the category (a progress event's last field): the
    text after it is the bar, once checked to be one JSON value in canonical form."""
    if data.endswith(_MAIN_END):
        return MAIN_BAR
    at = data.rfind(_KEY)
    tail = data[at + len(_KEY) : -1] if at >= 0 else ""
    bar = _BARS.get(tail)
    return bar if bar is not None else _parse_bar(data, tail)


def _parse_bar(data: str, tail: str) -> str:
    try:
        value = json.loads(tail)
    except ValueError:
        value = ...
    if value is None or (isinstance(value, str) and dumps(value) == tail):
        if len(_BARS) >= _MAX_BARS:
            _BARS.clear()
        _BARS[tail] = tail
        return tail
    # Not a row of the writer's making (the category is not last, or not canonical).
    category = json.loads(data).get("category")
    return dumps(category) if isinstance(category, str) else MAIN_BAR


def tally(
    rows: Sequence[tuple[Any, ...]],
) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """What ``rows`` (``events`` rows: run_id, seq, ts, type, data) add to the summary:
    ``(run_id, type, count)`` and ``(run_id, bar, seq)`` rows, one per key."""
    counts = Counter(map(itemgetter(0, 3), rows))
    bars: dict[tuple[str, str], int] = {}
    if any(kind == "progress" for _, kind in counts):
        for run_id, seq, _ts, kind, data in rows:
            if kind == "progress":
                bar = (run_id, bar_of(data))
                if seq > bars.get(bar, 0):
                    bars[bar] = seq
    # In key order: two transactions upserting the same rows lock them in one order.
    return (
        [(run_id, kind, n) for (run_id, kind), n in sorted(counts.items())],
        [(run_id, bar, seq) for (run_id, bar), seq in sorted(bars.items())],
    )


class Tallies:
    """The summary's upserts, compiled once for an engine.

    Args:
        engine: the store's engine.
        insert: a plain ``INSERT`` of a table in the engine's dialect (one that has
            ``on_conflict_do_update``: SQLite's or PostgreSQL's).
    """

    def __init__(self, engine: sa.Engine, insert: Callable[[sa.Table], Any]) -> None:
        add = insert(run_tallies)
        add = add.on_conflict_do_update(
            index_elements=[run_tallies.c.run_id, run_tallies.c.type],
            set_={"count": run_tallies.c.count + add.excluded.count},
        )
        self._tallies = PreparedStatement(engine, add, [c.name for c in run_tallies.columns])
        move = insert(run_progress)
        move = move.on_conflict_do_update(
            index_elements=[run_progress.c.run_id, run_progress.c.bar],
            set_={"seq": move.excluded.seq},
            where=move.excluded.seq > run_progress.c.seq,
        )
        self._progress = PreparedStatement(engine, move, [c.name for c in run_progress.columns])

    def add(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Count ``rows``, ``events`` rows just inserted in ``conn``'s transaction."""
        if not rows:
            return
        counts, bars = tally(rows)
        self._tallies.execute_values(conn, counts)
        if bars:
            self._progress.execute_values(conn, bars)
