"""Bring a store's schema to :data:`~hoist.runs.store.revision.HEAD_REVISION`, and compare
the migrated schema with the tables the code declares.

A store already at head costs one ``SELECT``; Alembic is imported only when there is
something to do. Concurrent migrators are serialised (a file lock for SQLite, an advisory
lock for PostgreSQL).

The store's database also holds tables of layers above this one (the server's accounts,
created by migration ``0002``). This layer cannot import them, so their owners hand their
:class:`~sqlalchemy.MetaData` to :func:`target_metadata` (and to :func:`schema_diff` and
:func:`alembic_config`), which composes it with the run store's own: Alembic's
``target_metadata`` then covers every table the migrations create.
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hoist.runs.store.revision import HEAD_REVISION
from hoist.runs.store.schema import EXPRESSION_INDEXES
from hoist.runs.store.schema import metadata as store_metadata

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "alembic_config",
    "current_revision",
    "optimize",
    "schema_diff",
    "target_metadata",
    "upgrade",
]

_PG_LOCK_KEY = 0x486F697374  # "Hoist"


def current_revision(conn: sa.Connection) -> str | None:
    """The store's Alembic revision, or ``None`` for an empty database."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def target_metadata(*others: sa.MetaData) -> sa.MetaData:
    """The run store's tables plus those of ``others``, as one :class:`~sqlalchemy.MetaData`.

    Raises:
        ValueError: two of them declare the same table.
    """
    if not others:
        return store_metadata
    combined = sa.MetaData()
    for metadata in (store_metadata, *others):
        for table in metadata.tables.values():
            if table.key in combined.tables:
                raise ValueError(f"table {table.key!r} is declared twice")
            table.to_metadata(combined)
    return combined


def alembic_config(conn: sa.Connection, *others: sa.MetaData) -> Config:
    """An Alembic config that runs the store's migrations on ``conn``, its
    ``target_metadata`` being :func:`target_metadata` of ``others``."""
    from alembic.config import Config

    # Alembic's default stdout is whatever sys.stdout was when alembic.config was first
    # imported (maybe a stream closed since): give it today's.
    cfg = Config(stdout=sys.stdout)
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = conn
    cfg.attributes["target_metadata"] = target_metadata(*others)
    return cfg


def upgrade(engine: sa.Engine) -> None:
    """Migrate ``engine``'s database to head (no-op when already there)."""
    with engine.connect() as conn:
        if current_revision(conn) == HEAD_REVISION:
            return
    with _migration_lock(engine), engine.begin() as conn:
        if current_revision(conn) == HEAD_REVISION:
            return
        from alembic import command

        command.upgrade(alembic_config(conn), "head")
        optimize(conn)


def optimize(conn: sa.Connection) -> None:
    """Keep SQLite's planner statistics fresh: a sampled ``ANALYZE`` (a few ms at a
    million runs) when there are none yet or the runs table has doubled since, then
    ``PRAGMA optimize`` (which, before SQLite 3.46, analyses only tables this connection
    queried); nothing on PostgreSQL, whose autovacuum analyses on its own. Called after
    migrations and when a store closes. The list and event queries are planned well
    without statistics too (their plans are tested on empty stores)."""
    if conn.dialect.name != "sqlite":
        return
    if _stale_statistics(conn):
        conn.exec_driver_sql(f"PRAGMA analysis_limit={_ANALYSIS_ROWS}")
        conn.exec_driver_sql("ANALYZE")
    conn.exec_driver_sql("PRAGMA optimize")


_ANALYSIS_ROWS = 1000  # rows of each index ANALYZE samples (SQLite's analysis_limit)


def _stale_statistics(conn: sa.Connection) -> bool:
    has_stats = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    runs_now = conn.exec_driver_sql("SELECT max(rowid) FROM runs").scalar() or 0
    if not has_stats:
        return runs_now > 0
    stat = conn.exec_driver_sql(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'runs' AND idx = 'ix_runs_created'"
    ).scalar()
    analysed = int(str(stat).split()[0]) if stat else 0
    return runs_now >= 2 * max(analysed, 1)


def schema_diff(conn: sa.Connection, *others: sa.MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make ``conn``'s database match
    :func:`target_metadata` of ``others`` (its ``compare_metadata`` entries); empty when
    the migrations and the declared tables agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"include_object": compared})
    with expression_indexes_unreflected():
        return list(compare_metadata(context, target_metadata(*others)))


def compared(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: every object but :data:`EXPRESSION_INDEXES`, which
    SQLite's reflection cannot see (their query plans are tested instead)."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


@contextlib.contextmanager
def expression_indexes_unreflected() -> Iterator[None]:
    """Silence SQLAlchemy's and Alembic's warnings that expression indexes are not
    reflected (they are left out of the comparison: :func:`compared`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        yield


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
