"""Run ids as typed on the command line: the full id, a unique prefix (6+ characters),
or the short form the CLI's tables show (:func:`hoist.runs.short_ids.short_id`)."""

from __future__ import annotations

from typing import Any

from hoist.errors import RunNotFoundError, UserInputError
from hoist.runs.models import Run
from hoist.runs.reader import RunFilter
from hoist.runs.short_ids import looks_short, matches_short_id

__all__ = ["resolve_run"]

_SCANNED = 5_000  # newest runs a server's log is searched for a short form


def resolve_run(log: Any, typed: str) -> Run:
    """The run ``typed`` names in ``log`` (a run store or the server's log): its id or a
    unique prefix as before, else a unique short form.

    Raises:
        RunNotFoundError: nothing matches.
        UserInputError: the short form names several runs (the full ids are listed).
    """
    try:
        run: Run = log.get_run(typed)
        return run
    except RunNotFoundError:
        if not looks_short(typed):
            raise
    found = _by_short_form(log, typed.lower())
    if not found:
        raise RunNotFoundError(typed)
    if len(found) > 1:
        ids = ", ".join(r.id for r in found[:5])
        raise UserInputError(f"{typed} names {len(found)} runs ({ids}): give more of the id")
    return found[0]


def _by_short_form(log: Any, text: str) -> list[Run]:
    engine = getattr(log, "engine", None)
    if engine is not None:  # the local store: one indexed-table scan, whatever its size
        import sqlalchemy as sa

        from hoist.runs.store.schema import runs

        with engine.connect() as conn:
            query = sa.select(runs.c.id).where(runs.c.id.endswith(text, autoescape=True))
            ids = list(conn.execute(query.limit(6)).scalars())
        return [log.get_run(run_id) for run_id in ids if matches_short_id(run_id, text)]
    recent: list[Run] = log.list_runs(RunFilter(limit=_SCANNED))
    return [r for r in recent if matches_short_id(r.id, text)]
