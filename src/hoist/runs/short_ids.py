"""Short run ids for people: what the CLI's tables and the panel show, and what a person
may type back.

A run id (:func:`~hoist.runs.models.new_run_id`) is 24 hex digits: a 12-digit millisecond
clock, a 7-digit random process tag and a 5-digit counter. Its first 8 digits change only
every 65 s, so runs created close together share them. The short form is the **last 8
digits** instead: the tail of the process tag and the counter. Two runs of one process
never share it (the counter), and runs of different processes share it only by chance
(about 1 in 4 billion per pair). An id of another shape (shorter than 16 characters, or
not hex) is its own short form.

:func:`short_id` is that one function; :func:`matches_short_id` says whether a typed
text is the short form of an id, so a reader resolves it (the CLI: a unique prefix as
before, else a unique short form).
"""

from __future__ import annotations

import string

__all__ = ["SHORT_ID_LENGTH", "looks_short", "matches_short_id", "short_id"]

SHORT_ID_LENGTH = 8
"""How many of a run id's last characters its short form keeps."""

_HEX = frozenset(string.hexdigits.lower())


def short_id(run_id: str | None) -> str:
    """The short form of ``run_id``: its last 8 hex digits (see the module), or the id
    itself when it is not a 16+ digit hex id; ``""`` for ``None``."""
    if not run_id:
        return ""
    if len(run_id) < 2 * SHORT_ID_LENGTH or not set(run_id) <= _HEX:
        return run_id
    return run_id[-SHORT_ID_LENGTH:]


def looks_short(text: str) -> bool:
    """Whether ``text`` has the shape of a short form (8 hex digits)."""
    return len(text) == SHORT_ID_LENGTH and set(text.lower()) <= _HEX


def matches_short_id(run_id: str, text: str) -> bool:
    """Whether ``text`` (as typed: any case) is the short form of ``run_id``."""
    return looks_short(text) and short_id(run_id) == text.lower()
