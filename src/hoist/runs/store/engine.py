"""Create SQLAlchemy engines for the run store: SQLite in WAL mode, or PostgreSQL."""

from __future__ import annotations

import errno
import importlib.util
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from hoist.errors import MissingExtraError, StoreError

__all__ = ["create_store_engine", "normalize_url", "write_refusal"]

# SQLite's primary result codes (the low byte of extended ones, e.g. IOERR_WRITE) that
# mean its files cannot be written now: PERM, READONLY, IOERR, FULL, CANTOPEN.
_SQLITE_REFUSALS = {3, 8, 10, 13, 14}
# PostgreSQL's SQLSTATEs: read-only transaction, disk full, insufficient privilege.
_PG_REFUSALS = {"25006", "53100", "42501"}
_OS_REFUSALS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


def normalize_url(url: str) -> sa.URL:
    """Parse ``url``; plain ``postgresql://`` URLs get the psycopg 3 driver."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"invalid database URL {url!r}: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_store_engine(url: str) -> sa.Engine:
    """An engine for ``url``; creates the SQLite file's folder and sets its pragmas."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if importlib.util.find_spec("psycopg") is None:
            raise MissingExtraError("postgres", "psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise StoreError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    database = url.database
    # How long (s) a write waits for another connection's lock before "database is
    # locked": 30 unless the URL says otherwise (``sqlite:///x.db?timeout=0.5``).
    busy = float(str(url.query.get("timeout", 30)))
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": busy}}
    if database in (None, "", ":memory:"):
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # A server runs dozens of request threads: keep their connections open (a new
        # SQLite connection costs its pragmas), instead of SQLAlchemy's 5 + 10 overflow.
        kwargs.update(pool_size=32, max_overflow=32)
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN; WAL lets readers run beside the
        # writer; NORMAL sync is durable across process crashes in WAL mode.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def write_refusal(exc: BaseException) -> str | None:
    """Why the store refuses writes for now (read-only, no permission, disk full, a
    failing disk), in the database's or system's words; ``None`` when ``exc`` is some
    other failure (a lock, a lost connection, a bad row). The one place that reads the
    drivers' codes for it."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _SQLITE_REFUSALS:
        return str(orig)
    if getattr(orig, "sqlstate", None) in _PG_REFUSALS:
        return str(orig).strip().splitlines()[0]
    if isinstance(orig, OSError) and orig.errno in _OS_REFUSALS:
        return orig.strerror or str(orig)
    return None
