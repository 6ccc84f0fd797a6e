"""A sink that writes to the run store: a backend of the one
:class:`~hoist.runs.sinks.writer.BatchWriter`.

Each batch is committed in one transaction. A locked or unreachable database is
waited out (nothing is lost); one that refuses writes (read-only, no permission, full)
is reported by every flush at once and retried slowly until it accepts them; a batch
the database refuses (an integrity error) is halved until the rows at fault are found
and set aside, and the next :meth:`StoreSink.flush` raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from hoist.runs.models import Run
from hoist.runs.sinks.writer import BatchWriter
from hoist.runs.store import RunStore
from hoist.runs.store.endings import OWNER_META
from hoist.runs.store.engine import write_refusal
from hoist.runs.store.rows import batch_rows, dumps, event_unit, run_row

__all__ = ["StoreSink"]

_log = logging.getLogger("hoist.store")

_TRANSIENT = (
    sa.exc.OperationalError,  # locked / busy database, lost connection, serialization
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,  # no pooled connection free in time
    OSError,
    TimeoutError,
)


class StoreSink(BatchWriter):
    """Batches runs and events into a :class:`~hoist.runs.store.RunStore`.

    Args:
        store: where to write.
        interval: longest time (s) an event waits before it is written.
        cancel_poll_interval: how often (s) a run's cancel flag is read from the store.
        heartbeat_interval: how often (s) the live runs of this sink are marked alive
            (``heartbeat_at``), so that a run whose process died can be told apart.
        on_commit: called (on the writing thread) with the ids of the runs a batch
            touched, once it is committed; e.g. the server wakes its live streams.
        max_tries: tries of a batch the database refuses before it is halved to set
            the rows at fault aside.
        owner: the process the runs opened here belong to (a server's identity), recorded
            in each run's ``meta``; it heartbeats them from the moment they are queued,
            so another server can tell when their owner died (see
            :meth:`~hoist.runs.store.RunStore.reap_orphans`).
        refused_retry: pause (s) between tries while the store refuses writes.
    """

    def __init__(
        self,
        store: RunStore,
        *,
        interval: float = 0.02,
        cancel_poll_interval: float = 0.5,
        heartbeat_interval: float = 5.0,
        on_commit: Callable[[set[str]], None] | None = None,
        max_tries: int = 3,
        owner: str | None = None,
        refused_retry: float = 5.0,
    ) -> None:
        self.store = store
        self.owner = owner
        self.on_commit = on_commit
        self.target = f"run store {store.safe_url}"
        super().__init__(
            interval=interval,
            max_items=5000,
            heartbeat_interval=heartbeat_interval,
            cancel_poll_interval=cancel_poll_interval,
            max_backoff=2.0,
            max_tries=max_tries,
            refused_retry=refused_retry,
        )

    # An event becomes its ``events`` row on the action's thread (a plain function: no
    # bound-method call on the hot path); a run, its ``runs`` row.
    _encode_event = staticmethod(event_unit)

    def _encode_run(self, run: Run) -> dict[str, Any]:
        row = run_row(run)
        if self.owner is not None:
            row["meta"] = dumps({**run.meta, OWNER_META: self.owner})
        return row

    def _prepare(self, units: list[Any]) -> tuple[Any, int]:
        return batch_rows(units), len(units)

    def _write(self, payload: Any, live: Sequence[str]) -> None:
        run_rows, event_rows, updates = payload
        self.store.write_rows(run_rows, event_rows, updates)
        if self.on_commit is not None:
            touched = {row["id"] for row in run_rows}
            touched.update(row[0] for row in event_rows)
            try:
                self.on_commit(touched)
            except Exception as exc:  # a listener's failure must not stop the writer
                _log.warning("on_commit listener failed: %s", exc)

    def _heartbeat(self, run_ids: Sequence[str]) -> None:
        self.store.heartbeat(run_ids)

    def _cancel_requested(self, run_ids: Sequence[str]) -> frozenset[str]:
        return frozenset(self.store.cancel_requested_among(run_ids))

    def _refusal(self, exc: Exception) -> str | None:
        return write_refusal(exc)

    def _is_transient(self, exc: Exception) -> bool:
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, sa.exc.OperationalError) and "no such " in str(exc.orig):
            return False  # SQLite's "no such table/column": the schema is wrong
        return isinstance(exc, _TRANSIENT)

    def _can_split(self, exc: Exception) -> bool:
        # A missing table or bad SQL (ProgrammingError, SQLite's "no such ...") refuses
        # every row alike; an integrity or data error names some rows only.
        return not isinstance(exc, sa.exc.ProgrammingError | sa.exc.OperationalError)
