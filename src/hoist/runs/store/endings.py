"""How the run store ends runs from outside their worker: a dead worker's runs become
``lost``, a dead server's queued runs ``failed`` (or ``cancelled``), each claimed by one
conditional UPDATE so that two processes reaping one store never both end a run.

:class:`RunEndings` is a part of :class:`~hoist.runs.store.RunStore` (kept apart: one
reason to change)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from hoist.errors import RunNotFoundError
from hoist.runs.models import ErrorEvent, RunStatus, StatusEvent
from hoist.runs.reader import STALE_AFTER
from hoist.runs.store.rows import event_row, grouped_updates, run_changes
from hoist.runs.store.schema import events, runs

__all__ = ["OWNER_META", "RunEndings"]

OWNER_META = "owner"
"""The key of a run's ``meta`` naming the server process that launched it: its owner,
which heartbeats the run while it waits and while it runs (see
:meth:`RunEndings.reap_orphans`)."""

_ENDED = [str(s) for s in RunStatus if s.is_terminal]


class RunEndings:
    """Ending runs whose worker or owner is gone (a mixin of the run store)."""

    engine: sa.Engine
    _add_events: Callable[..., None]  # the store's: insert events, add them to the summary
    _update_statement: Callable[[tuple[str, ...]], Any]  # the store's, per column set

    def mark_lost(self, run_id: str, reason: str) -> bool:
        """End a run whose worker died: an error event and a ``lost`` status, appended
        after its last event. No-op (False) for a run that already ended."""
        return self.end_run(run_id, RunStatus.LOST, "RunLost", reason)

    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        error_type: str,
        reason: str,
        *,
        only_if: sa.ColumnElement[bool] | None = None,
    ) -> bool:
        """End a run from outside its worker (the worker died, or never started): an
        error event and the terminal ``status``, appended after its last event.

        The run is claimed first by one conditional UPDATE, so that of two processes
        ending it at once (two servers reaping one store) only one writes the end.
        No-op (False) for a run that already ended, or for which ``only_if`` (a
        condition on its ``runs`` row) no longer holds.

        Raises:
            RunNotFoundError: no such run.
        """
        now = time.time()
        claim = runs.update().where(runs.c.id == run_id, runs.c.status.not_in(_ENDED))
        if only_if is not None:
            claim = claim.where(only_if)
        with self.engine.begin() as conn:
            if conn.execute(claim.values(status=str(status))).rowcount == 0:
                found = conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first()
                if found is None:
                    raise RunNotFoundError(run_id)
                return False
            last = conn.execute(
                sa.select(sa.func.max(events.c.seq)).where(events.c.run_id == run_id)
            ).scalar()
            seq = int(last or 0)
            end = [
                ErrorEvent(run_id=run_id, seq=seq + 1, ts=now, error_type=error_type,
                           message=reason),
                StatusEvent(run_id=run_id, seq=seq + 2, ts=now, status=status),
            ]  # fmt: skip
            self._add_events(conn, [event_row(e) for e in end], exact=True)
            for columns, rows in grouped_updates(run_changes(end)).items():
                self._update_statement(columns).execute(conn, rows)
        return True

    def reap_stale(self, stale_after: float = STALE_AFTER) -> list[str]:
        """Mark ``lost`` every running (or awaiting) run whose heartbeat is older than
        ``stale_after`` seconds (its worker stopped reporting); returns their ids."""
        stale = _silent((RunStatus.RUNNING, RunStatus.AWAITING), stale_after)
        with self.engine.connect() as conn:
            found = list(conn.execute(sa.select(runs.c.id).where(stale)).scalars())
        reason = f"no heartbeat for more than {stale_after:g}s: its worker died"
        return [
            run_id
            for run_id in found
            if self.end_run(run_id, RunStatus.LOST, "RunLost", reason, only_if=stale)
        ]

    def reap_orphans(
        self, stale_after: float = STALE_AFTER, run_ids: Sequence[str] | None = None
    ) -> list[str]:
        """End every ``queued`` run whose owner (the server that launched it, named in
        its ``meta[OWNER_META]``) stopped heartbeating it ``stale_after`` seconds ago:
        it never started, and never will. One whose cancel was asked ends
        ``cancelled``; any other ``failed`` (``RunNotStarted``: launch it again).

        Args:
            stale_after: seconds without a heartbeat after which the owner is dead.
            run_ids: look at these runs only (default: all).

        Returns:
            The ids of the runs ended.
        """
        stale = _silent((RunStatus.QUEUED,), stale_after)
        query = sa.select(runs.c.id, runs.c.meta, runs.c.cancel_requested).where(stale)
        if run_ids is not None:
            query = query.where(runs.c.id.in_(list(run_ids)))
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
        ended: list[str] = []
        for row in found:
            owner = json.loads(row.meta or "{}").get(OWNER_META)
            if owner is None:
                continue  # not a server's run: the process that queued it ends it
            if row.cancel_requested:
                status, error = RunStatus.CANCELLED, "RunCancelled"
                reason = f"cancelled before it started (its server {owner} had stopped)"
            else:
                status, error = RunStatus.FAILED, "RunNotStarted"
                reason = f"its server {owner} stopped before starting it: launch it again"
            if self.end_run(row.id, status, error, reason, only_if=stale):
                ended.append(row.id)
        return ended


def _silent(statuses: tuple[RunStatus, ...], stale_after: float) -> sa.ColumnElement[bool]:
    """Runs in ``statuses`` with no sign of life for more than ``stale_after`` seconds."""
    last_alive = sa.func.coalesce(runs.c.heartbeat_at, runs.c.started_at, runs.c.created_at)
    return sa.and_(
        runs.c.status.in_([str(s) for s in statuses]), last_alive < time.time() - stale_after
    )
