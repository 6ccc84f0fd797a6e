"""The run store: runs and events in SQLite (embedded default) or PostgreSQL.

:class:`RunStore` is imported on first use: the store's reader
(:mod:`hoist.runs.store.sql_reader`) lives in this package and must not import
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoist._lazy import lazy_getattr

if TYPE_CHECKING:
    from hoist.runs.store.store import RunStore

__all__ = ["RunStore"]

__getattr__ = lazy_getattr(__name__, {"RunStore": "hoist.runs.store.store"}, globals())
