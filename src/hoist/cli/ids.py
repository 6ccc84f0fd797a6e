"""Run ids as typed on the command line: the full id, a unique prefix (6+ characters),
or the short form the CLI's tables show (:func:`hoist.runs.short_ids.short_id`).

The run log resolves all three (the local store by its indexes, a server by the same
store behind its API); this module adds the message for a short form that names several
runs, where the log can list them.
"""

from __future__ import annotations

from typing import Any

from hoist.errors import RunNotFoundError, UserInputError
from hoist.runs.models import Run
from hoist.runs.short_ids import looks_short

__all__ = ["resolve_run"]


def resolve_run(log: Any, typed: str) -> Run:
    """The run ``typed`` names in ``log`` (a run store or the server's log): its id, a
    unique prefix or a unique short form.

    Raises:
        RunNotFoundError: nothing matches.
        UserInputError: the short form names several runs (their full ids are listed).
    """
    try:
        run: Run = log.get_run(typed)
        return run
    except RunNotFoundError:
        matches = getattr(log, "short_id_matches", None)
        if matches is None or not looks_short(typed):
            raise
        ids: list[str] = matches(typed)
        if len(ids) < 2:
            raise
        raise UserInputError(
            f"{typed} names {len(ids)}+ runs ({', '.join(ids[:5])}): give more of the id"
        ) from None
