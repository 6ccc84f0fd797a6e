"""What a remote worker posts, written only where that worker may write.

A worker is named by a *writer*: an opaque name its server gives the worker's
credential (the server uses the token's id). The runs a writer creates are its own
(:data:`~hoist.runs.store.schema.run_writers`), and it may post events only to them.
In the transaction that writes a batch:

- a run of the batch already stored must be this writer's (posting it again changes
  nothing); a new run's parent, when stored, must be this writer's too, so that no one
  hangs a forged node under somebody else's pipeline;
- a new event must belong to a run of this writer that has not ended, and a status
  event must be a move its run may make: ``queued → running (⇄ awaiting) → an end``;
  an ended run never changes (:func:`check_move`).

Events already stored (the same run and ``seq``) are skipped unchecked: a worker that
posts a batch again, because the answer to the first post was lost, gets the same
answer, even when that batch ended its run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hoist.errors import RunWriteError
from hoist.runs.models import TERMINAL_STATUSES, EventBase, Run, RunStatus, StatusEvent
from hoist.runs.store.prepared import PreparedStatement
from hoist.runs.store.rows import EVENT_COLUMNS, event_row, grouped_updates, run_changes, run_row
from hoist.runs.store.schema import events, run_writers, runs

__all__ = ["check_move", "ingest_batch", "live_runs_of"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _Stored:
    status: RunStatus
    writer: str | None


def check_move(current: RunStatus, new: RunStatus) -> str | None:
    """Why a run in ``current`` status may not take ``new`` from its worker (``None``:
    it may): an ended run never changes, no run goes back to ``queued``, and only a
    running run waits for a person (``awaiting``)."""
    if current.is_terminal:
        return f"has ended ({current})"
    if new is RunStatus.QUEUED and current is not RunStatus.QUEUED:
        return f"cannot go from {current} back to queued"
    if new is RunStatus.AWAITING and current is RunStatus.QUEUED:
        return "cannot await an answer before it runs"
    return None


def ingest_batch(
    conn: sa.Connection,
    insert: Callable[[sa.Table], Any],
    update: Callable[[tuple[str, ...]], PreparedStatement],
    tally: Callable[[sa.Connection, Sequence[tuple[Any, ...]]], None],
    new_runs: Sequence[Run],
    new_events: Sequence[EventBase],
    writer: str | None,
) -> tuple[int, int]:
    """Write a worker's batch in ``conn``'s transaction; returns how many runs and events
    were new. With ``writer``, the batch's new runs become that writer's, and only its
    runs may be posted to.

    Args:
        conn: a connection in a transaction (rolled back when this raises).
        insert: an ``INSERT ... ON CONFLICT DO NOTHING`` of a table, in the dialect.
        update: the prepared ``UPDATE runs`` of a set of columns.
        tally: adds ``events`` rows just inserted to the run summary
            (:meth:`~hoist.runs.store.tallies.Tallies.add`).
        new_runs, new_events: the batch.
        writer: the worker's name (``None``: no ownership checks, as for a local store).

    Raises:
        RunWriteError: a run or an event of the batch may not be written (nothing is).
    """
    added: set[str] = set()
    if new_runs:
        stmt = insert(runs).returning(runs.c.id)
        added = {row[0] for row in conn.execute(stmt, [run_row(r) for r in new_runs]).all()}
        if writer is not None and added:
            rows = [{"run_id": run_id, "writer": writer} for run_id in sorted(added)]
            conn.execute(insert(run_writers), rows)
    inserted: list[tuple[int, EventBase]] = []
    if new_events:
        index: dict[tuple[str, int], int] = {}
        for i, e in enumerate(new_events):  # of two events with one key, the first is stored
            index.setdefault((e.run_id, e.seq), i)
        values = [event_row(e) for e in new_events]
        rows = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in values]
        stmt = insert(events).returning(events.c.run_id, events.c.seq)
        taken = [index[(k[0], k[1])] for k in conn.execute(stmt, rows).all()]
        tally(conn, [values[i] for i in taken])
        inserted = sorted(((i, new_events[i]) for i in taken), key=lambda pair: pair[1].seq)
    parents = {r.parent_id for r in new_runs if r.id in added and r.parent_id}
    wanted = {r.id for r in new_runs} | {e.run_id for _, e in inserted} | parents
    stored = _stored(conn, sorted(wanted))
    if writer is not None:
        _check_runs(new_runs, added, stored, writer)
    _check_events(inserted, stored, writer)
    changes = run_changes([e for _, e in inserted])
    for columns, params in grouped_updates(changes).items():
        update(columns).execute(conn, params)
    return len(added), len(inserted)


def live_runs_of(conn: sa.Connection, run_ids: Sequence[str], writer: str) -> set[str]:
    """The ids in ``run_ids`` of runs that ``writer`` wrote and that have not ended."""
    ended = [str(status) for status in TERMINAL_STATUSES]
    found: set[str] = set()
    for start in range(0, len(run_ids), _CHUNK):
        chunk = list(run_ids[start : start + _CHUNK])
        query = (
            sa.select(runs.c.id)
            .join(run_writers, run_writers.c.run_id == runs.c.id)
            .where(runs.c.id.in_(chunk), run_writers.c.writer == writer,
                   runs.c.status.not_in(ended))
        )  # fmt: skip
        found.update(conn.execute(query).scalars())
    return found


def _stored(conn: sa.Connection, run_ids: list[str]) -> dict[str, _Stored]:
    """Status and writer of the stored runs among ``run_ids``, their rows locked until
    the transaction ends (PostgreSQL; SQLite's writer already holds the database)."""
    out: dict[str, _Stored] = {}
    for start in range(0, len(run_ids), _CHUNK):
        chunk = run_ids[start : start + _CHUNK]
        query = (
            sa.select(runs.c.id, runs.c.status, run_writers.c.writer)
            .select_from(runs.outerjoin(run_writers, run_writers.c.run_id == runs.c.id))
            .where(runs.c.id.in_(chunk))
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=runs)
        for row in conn.execute(query):
            out[row.id] = _Stored(RunStatus(row.status), row.writer)
    return out


def _check_runs(
    new_runs: Sequence[Run], added: set[str], stored: dict[str, _Stored], writer: str
) -> None:
    for i, run in enumerate(new_runs):
        found = stored.get(run.id)
        if run.id not in added and (found is None or found.writer != writer):
            raise RunWriteError(run.id, f"runs.{i}", "was not created by this worker",
                                not_writer=True)  # fmt: skip
        parent = stored.get(run.parent_id) if run.id in added and run.parent_id else None
        if parent is not None and parent.writer != writer:
            raise RunWriteError(run.id, f"runs.{i}.parent_id", f"names parent "
                                f"{run.parent_id}, which was not created by this worker",
                                not_writer=True)  # fmt: skip


def _check_events(
    inserted: list[tuple[int, EventBase]],
    stored: dict[str, _Stored],
    writer: str | None,
) -> None:
    """Each new event, in ``seq`` order, against its run's state before the batch."""
    status = {run_id: found.status for run_id, found in stored.items()}
    for i, event in inserted:
        found = stored.get(event.run_id)
        if found is None:
            raise RunWriteError(event.run_id, f"events.{i}.run_id", "is not stored")
        if writer is not None and found.writer != writer:
            raise RunWriteError(event.run_id, f"events.{i}", "was not created by this worker",
                                not_writer=True)  # fmt: skip
        current = status[event.run_id]
        if current.is_terminal:
            raise RunWriteError(event.run_id, f"events.{i}", f"has ended ({current})")
        if isinstance(event, StatusEvent):
            problem = check_move(current, event.status)
            if problem is not None:
                raise RunWriteError(event.run_id, f"events.{i}.status", problem)
            status[event.run_id] = event.status
