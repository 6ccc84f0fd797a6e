"""Bring a store's schema to :data:`~hoist.runs.store.schema.HEAD_REVISION`.

A store already at head costs one ``SELECT``; Alembic is imported only when there is
something to do. Concurrent migrators are serialised (a file lock for SQLite, an advisory
lock for PostgreSQL).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from hoist.runs.store.schema import HEAD_REVISION

__all__ = ["current_revision", "upgrade"]

_PG_LOCK_KEY = 0x486F697374  # "Hoist"


def current_revision(conn: sa.Connection) -> str | None:
    """The store's Alembic revision, or ``None`` for an empty database."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: sa.Engine) -> None:
    """Migrate ``engine``'s database to head (no-op when already there)."""
    with engine.connect() as conn:
        if current_revision(conn) == HEAD_REVISION:
            return
    with _migration_lock(engine), engine.begin() as conn:
        if current_revision(conn) == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextlib.contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
    elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        lock_path = Path(str(engine.url.database) + ".migrate.lock")
        with lock_path.open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        yield
