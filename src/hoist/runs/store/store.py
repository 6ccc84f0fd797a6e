"""Queries and batched writes of the run store."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hoist.errors import RunNotFoundError, StoreError
from hoist.runs.models import (
    TERMINAL_STATUSES,
    EventBase,
    Run,
    RunStatus,
)
from hoist.runs.reader import RunFilter
from hoist.runs.store import migrate
from hoist.runs.store.endings import OWNER_META, RunEndings
from hoist.runs.store.engine import create_store_engine
from hoist.runs.store.event_reads import RunSummaryReads
from hoist.runs.store.ingest import ingest_batch, live_runs_of
from hoist.runs.store.listing import find_run_row, list_query, short_id_matches
from hoist.runs.store.prepared import PreparedStatement
from hoist.runs.store.rows import (
    EVENT_COLUMNS,
    dumps,
    encode_event,
    encode_run,
    event_row,
    grouped_updates,
    row_to_event,
    row_to_run,
    run_changes,
    run_row,
)
from hoist.runs.store.schema import events, runs
from hoist.runs.store.tallies import Tallies

if TYPE_CHECKING:
    from hoist.runs.models import Event

__all__ = ["OWNER_META", "RunStore", "encode_event", "encode_run"]


class RunStore(RunEndings, RunSummaryReads):
    """Runs and events in one SQL database. Safe to share between threads.

    Args:
        url: a SQLAlchemy URL (``sqlite:///path.db`` or ``postgresql://...``).
        migrate: bring the schema to head on open (the default).
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = create_store_engine(url)
        self._updates: dict[tuple[str, ...], PreparedStatement] = {}
        if migrate:
            try:
                self.migrate()
            except sa.exc.SQLAlchemyError as exc:
                raise StoreError(f"cannot open run store {self.safe_url}: {exc}") from exc

    @functools.cached_property
    def _insert_run(self) -> PreparedStatement:
        """The run upsert, compiled on the first write (a reader never compiles it)."""
        columns = [c.name for c in runs.columns if c.name != "cancel_requested"]
        return PreparedStatement(self.engine, self._run_upsert(), columns)

    @functools.cached_property
    def _insert_event(self) -> PreparedStatement:
        """The event insert, compiled on the first write."""
        columns = [c.name for c in events.columns]
        return PreparedStatement(self.engine, self._dialect_insert(events), columns)

    @functools.cached_property
    def _tallies(self) -> Tallies:
        """The summary's upserts, compiled on the first write."""
        return Tallies(self.engine, functools.partial(self._dialect_insert, conflict=False))

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def migrate(self) -> None:
        """Bring the schema to the newest revision."""
        migrate.upgrade(self.engine)

    def close(self) -> None:
        """Refresh SQLite's planner statistics if stale, and release the connection pool."""
        try:
            with self.engine.begin() as conn:
                migrate.optimize(conn)
        except sa.exc.SQLAlchemyError:
            pass  # a read-only or vanished store: nothing to refresh
        self.engine.dispose()

    def _run_upsert(self) -> Any:
        """Insert a run; when another process recorded it first (a driver records a job's
        run before its worker does), apply the progress this row carries instead: a
        batch folds a new run's events into its row, and they must not be lost. A row
        that says only ``queued`` changes nothing, and an ended run stays as it ended."""
        insert = self._dialect_insert(runs, conflict=False)
        new, old = insert.excluded, runs.c
        ended = ", ".join(f"'{status}'" for status in RunStatus if status.is_terminal)
        return insert.on_conflict_do_update(
            index_elements=[runs.c.id],
            set_={
                "status": new.status,
                "result": sa.func.coalesce(new.result, old.result),
                "error": sa.func.coalesce(new.error, old.error),
                "started_at": sa.func.coalesce(old.started_at, new.started_at),
                "finished_at": sa.func.coalesce(new.finished_at, old.finished_at),
                "heartbeat_at": sa.func.coalesce(new.heartbeat_at, old.heartbeat_at),
            },
            where=sa.text(f"runs.status NOT IN ({ended}) AND excluded.status <> 'queued'"),
        )

    def _dialect_insert(self, table: sa.Table, *, conflict: bool = True) -> Any:
        """An INSERT that skips rows already stored (``conflict``: add ON CONFLICT DO
        NOTHING), in this database's dialect."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            pg = pg_insert(table)
            return pg.on_conflict_do_nothing() if conflict else pg
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table)
        return lite.on_conflict_do_nothing() if conflict else lite

    # writes -----------------------------------------------------------------------
    def write_batch(self, new_runs: Sequence[Run], new_events: Sequence[EventBase]) -> None:
        """Insert runs and events and apply the events to their runs, in one transaction.

        Idempotent: a run or an event ``(run_id, seq)`` already stored is left alone.
        """
        self.write_rows(
            [run_row(r) for r in new_runs],
            [event_row(e) for e in new_events],
            run_changes(new_events),
        )

    def write_rows(
        self,
        run_rows: Sequence[dict[str, Any]],
        event_rows: Sequence[tuple[Any, ...]],
        updates: dict[str, dict[str, Any]],
    ) -> None:
        """Write rows made by :func:`~hoist.runs.store.rows.encode_batch` (or
        :func:`encode_run` / :func:`encode_event`) in one transaction, with the run
        summary the new events add to (:mod:`~hoist.runs.store.tallies`)."""
        if run_rows and updates:
            # A run created in this batch is inserted in its final state: no UPDATE.
            run_rows = [dict(row) for row in run_rows]
            updates = dict(updates)
            for row in run_rows:
                changed = updates.pop(row["id"], None)
                if changed:
                    row.update(changed)
        try:
            self._write_rows(run_rows, event_rows, updates, exact=False)
        except _StoredBefore:
            # Some of the events were stored already (a batch written again): write it
            # again, counting only the events the database takes.
            self._write_rows(run_rows, event_rows, updates, exact=True)

    def _write_rows(
        self,
        run_rows: Sequence[dict[str, Any]],
        event_rows: Sequence[tuple[Any, ...]],
        updates: dict[str, dict[str, Any]],
        *,
        exact: bool,
    ) -> None:
        with self.engine.begin() as conn:
            self._insert_run.execute(conn, run_rows)
            self._add_events(conn, event_rows, exact=exact)
            for columns, rows in grouped_updates(updates).items():
                self._update_statement(columns).execute(conn, rows)

    def _add_events(
        self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]], *, exact: bool
    ) -> None:
        """Insert ``events`` rows, skipping those already stored, and add the new ones to
        the run summary (:mod:`~hoist.runs.store.tallies`), in ``conn``'s transaction.

        Not ``exact``: one multi-row INSERT, and when the database took fewer rows than
        given (some were stored), :class:`_StoredBefore` is raised: the transaction is
        to be rolled back and the rows written again with ``exact``, which asks the
        database which rows it took (``RETURNING``; slower, and rarely needed).
        """
        if not rows:
            return
        if not exact:
            if self._insert_event.execute_values(conn, rows) != len(rows):
                raise _StoredBefore
            self._tallies.add(conn, rows)
            return
        insert = self._dialect_insert(events).returning(events.c.run_id, events.c.seq)
        params = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows]
        taken = {(key[0], key[1]) for key in conn.execute(insert, params)}
        new = []
        for row in rows:  # of two rows with one key, the first was inserted
            key = (row[0], row[1])
            if key in taken:
                taken.discard(key)
                new.append(row)
        self._tallies.add(conn, new)

    def ingest(
        self,
        new_runs: Sequence[Run],
        new_events: Sequence[EventBase],
        *,
        writer: str | None = None,
    ) -> tuple[int, int]:
        """Store runs and events sent by a remote worker; returns how many of each were new.

        Strictly idempotent: a run or an event ``(run_id, seq)`` already stored is
        skipped, and only the events actually inserted change their run's summary, so a
        re-posted batch changes nothing at all. A new event of an ended run, or a status
        its run may not move to, is refused; with ``writer`` (the worker's name), the new
        runs become that writer's and only its runs may be posted to (see
        :mod:`hoist.runs.store.ingest`).

        Raises:
            RunWriteError: the batch may not be written (nothing of it is).
        """
        with self.engine.begin() as conn:
            return ingest_batch(conn, self._dialect_insert, self._update_statement,
                                self._tallies.add, new_runs, new_events, writer)  # fmt: skip

    def live_runs_of(self, run_ids: Sequence[str], writer: str) -> set[str]:
        """The ids in ``run_ids`` of runs that ``writer`` posted (see :meth:`ingest`)
        and that have not ended: those it may heartbeat and learn cancel requests of."""
        with self.engine.connect() as conn:
            return live_runs_of(conn, run_ids, writer)

    def existing_run_ids(self, run_ids: Sequence[str]) -> set[str]:
        """The ids in ``run_ids`` that name stored runs (exact ids, no prefixes)."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                found.update(
                    conn.execute(sa.select(runs.c.id).where(runs.c.id.in_(chunk))).scalars()
                )
        return found

    def _update_statement(self, columns: tuple[str, ...]) -> PreparedStatement:
        """One cached ``UPDATE runs SET ... WHERE id = ?`` per set of columns."""
        statement = self._updates.get(columns)
        if statement is None:
            update = (
                runs.update()
                .where(runs.c.id == sa.bindparam("run_id_"))
                .values({name: _set(name) for name in columns})
            )
            statement = self._updates[columns] = PreparedStatement(self.engine, update, ())
        return statement

    def heartbeat(self, run_ids: Sequence[str], at: float | None = None) -> None:
        """Mark runs as alive now (their worker is still working on them)."""
        now = time.time() if at is None else at
        with self.engine.begin() as conn:
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                conn.execute(runs.update().where(runs.c.id.in_(chunk)).values(heartbeat_at=now))

    def request_cancel(self, run_id: str) -> None:
        """Flag the run so that its worker stops at the next cancellation point."""
        with self.engine.begin() as conn:
            done = conn.execute(
                runs.update().where(runs.c.id == run_id).values(cancel_requested=True)
            )
        if done.rowcount == 0:
            raise RunNotFoundError(run_id)

    def record_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Record a run's params as its worker validated them (JSON data, secret values
        already masked): a Ray job's driver, which does not import the action, records
        the params it was given withheld, and the job's worker records them here once it
        knows which are secret. An ended run keeps what it recorded."""
        ended = [str(status) for status in TERMINAL_STATUSES]
        with self.engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.status.not_in(ended))
                .values(params=dumps(dict(params)))
            )

    # reads ------------------------------------------------------------------------
    def is_cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for the run."""
        with self.engine.connect() as conn:
            flag = conn.execute(
                sa.select(runs.c.cancel_requested).where(runs.c.id == run_id)
            ).scalar()
        return bool(flag)

    def cancel_requested_among(self, run_ids: Sequence[str]) -> set[str]:
        """The ids in ``run_ids`` whose cancellation was requested."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(run_ids), 500):
                chunk = run_ids[start : start + 500]
                query = sa.select(runs.c.id).where(runs.c.id.in_(chunk), runs.c.cancel_requested)
                found.update(conn.execute(query).scalars())
        return found

    def get_run(self, run_id: str) -> Run:
        """The run with this id, a unique prefix of it (6+ characters) or a unique short
        form (its last 8 characters): each an index seek (:func:`find_run_row`)."""
        with self.engine.connect() as conn:
            row = find_run_row(conn, run_id)
        if row is None:
            raise RunNotFoundError(run_id)
        return row_to_run(row)

    def short_id_matches(self, typed: str) -> list[str]:
        """The ids (a few at most) whose short form is ``typed``: to name them when a
        short form is ambiguous."""
        with self.engine.connect() as conn:
            return short_id_matches(conn, typed)

    def list_runs(self, flt: RunFilter | None = None) -> list[Run]:
        """Runs matching ``flt``, newest first (from ``flt.cursor`` on, when given)."""
        query = list_query(flt or RunFilter(), self.engine.dialect.name)
        with self.engine.connect() as conn:
            return [row_to_run(row) for row in conn.execute(query).mappings()]

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[Event]:
        """The run's events with ``seq > after_seq`` in order (at most ``limit``)."""
        query = (
            sa.select(events)
            .where(events.c.run_id == run_id, events.c.seq > after_seq)
            .order_by(events.c.seq)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows and after_seq == 0:
            self.get_run(run_id)  # raises RunNotFoundError for an unknown run
        return [row_to_event(row) for row in rows]

    def events_after(self, cursors: Mapping[str, int], limit: int = 5000) -> list[Event]:
        """New events of several runs at once: those with ``seq > cursors[run_id]``,
        ordered by run then ``seq`` (at most ``limit``; a live-stream poller's query)."""
        if not cursors:
            return []
        items = list(cursors.items())
        out: list[Event] = []
        with self.engine.connect() as conn:
            for start in range(0, len(items), 200):
                chunk = items[start : start + 200]
                cond = sa.or_(*(sa.and_(events.c.run_id == r, events.c.seq > s) for r, s in chunk))
                query = (
                    sa.select(events)
                    .where(cond)
                    .order_by(events.c.run_id, events.c.seq)
                    .limit(limit - len(out))
                )
                out.extend(row_to_event(row) for row in conn.execute(query).all())
                if len(out) >= limit:
                    break
        return out

    def active_runs(self) -> dict[str, str]:
        """Id to status of every ``queued``, ``running`` or ``awaiting`` run (uses the
        status index)."""
        live = [str(RunStatus.QUEUED), str(RunStatus.RUNNING), str(RunStatus.AWAITING)]
        query = sa.select(runs.c.id, runs.c.status).where(runs.c.status.in_(live))
        with self.engine.connect() as conn:
            return {row.id: row.status for row in conn.execute(query)}

    def runs_by_ids(self, run_ids: Sequence[str]) -> list[Run]:
        """The stored runs among ``run_ids`` (exact ids), in no particular order."""
        out: list[Run] = []
        with self.engine.connect() as conn:
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                rows = conn.execute(sa.select(runs).where(runs.c.id.in_(chunk))).mappings()
                out.extend(row_to_run(row) for row in rows)
        return out


class _StoredBefore(Exception):
    """A batch's INSERT skipped events already stored (see ``RunStore._add_events``)."""


def _set(column: str) -> Any:
    """The value an update sets ``column`` to: the bound one, but a run keeps the time
    it first started (back from ``awaiting``, it runs again: ``running`` once more)."""
    value: sa.BindParameter[Any] = sa.bindparam(f"v_{column}")
    return sa.func.coalesce(runs.c.started_at, value) if column == "started_at" else value
