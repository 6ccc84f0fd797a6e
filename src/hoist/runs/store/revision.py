"""The run store's schema revision, apart from the tables: the read-only reader
(:mod:`hoist.runs.store.sql_reader`) checks it without importing SQLAlchemy."""

from __future__ import annotations

__all__ = ["HEAD_REVISION"]

HEAD_REVISION = "0010"
"""The newest migration; a store at this revision needs no Alembic at start-up. Bump it
with each migration added to ``migrations/versions``."""
