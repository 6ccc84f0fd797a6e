"""Tables of the run store (SQLAlchemy Core). Changes go through a migration in
``migrations/versions`` and a bump of :data:`~hoist.runs.store.revision.HEAD_REVISION`."""

from __future__ import annotations

import sqlalchemy as sa

from hoist.runs.short_ids import SHORT_ID_LENGTH

__all__ = [
    "EXPRESSION_INDEXES",
    "deployments",
    "events",
    "metadata",
    "run_progress",
    "run_tallies",
    "run_writers",
    "runs",
    "services",
    "short_id_of",
]


metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("parent_id", sa.String(40), nullable=True),
    sa.Column("plugin", sa.String(200), nullable=True),
    sa.Column("action", sa.String(200), nullable=True),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("meta", sa.Text, nullable=False),
    # Migration 0008: each list filter with the list's order (newest first), so a page
    # is a walk down one index; and the order itself (keyset pages).
    sa.Index("ix_runs_created", "created_at", "id"),
    sa.Index("ix_runs_status_plugin_created", "status", "plugin", "created_at", "id"),
    *(
        sa.Index(f"ix_runs_{name}_created", column, "created_at", "id")
        for name, column in (
            ("status", "status"),
            ("plugin", "plugin"),
            ("action", "action"),
            ("kind", "kind"),
            ("parent", "parent_id"),
        )
    ),
)


def short_id_of(run_id: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """The SQL of a run id's short form (its last :data:`SHORT_ID_LENGTH` characters,
    :func:`hoist.runs.short_ids.short_id`), spelled alike on SQLite and PostgreSQL and
    with its number inline: a query matches the index below (migration 0010) only when it
    spells the expression exactly as the index does."""
    start = sa.func.length(run_id) - sa.literal_column(str(SHORT_ID_LENGTH - 1))
    return sa.func.substr(run_id, start)


# Migration 0010: a short id typed back (``hoist runs show 3f9a01c2``) is one seek.
sa.Index("ix_runs_short_id", short_id_of(runs.c.id))

EXPRESSION_INDEXES = frozenset({"ix_runs_short_id"})
"""Indexes on an expression: Alembic's comparison cannot reflect them (on SQLite), so
:func:`~hoist.runs.store.migrate.schema_diff` leaves them out; tests check their plans."""

events = sa.Table(
    "events",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    # Migration 0008: a long run's events of one type (progress, artifacts, steps).
    sa.Index("ix_events_run_type_seq", "run_id", "type", "seq"),
)

run_tallies = sa.Table(
    "run_tallies",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("type", sa.String(20), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)
"""How many events of each type each run has (migration 0009):
kept by the writer in the transaction of the events (:mod:`hoist.runs.store.tallies`)."""

run_progress = sa.Table(
    "run_progress",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("bar", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
)
"""The ``seq`` of the newest progress event of each bar of each run (migration 0009); a
bar is its category as JSON, ``null`` for the run's main bar (:mod:`hoist.runs.store.tallies`)."""

run_writers = sa.Table(
    "run_writers",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("writer", sa.String(64), nullable=False),
)
"""Which remote worker wrote each ingested run (its server's name for the worker's
credential): the only one that may post that run's events. Runs written in-process
(by the server's own executors, or by a worker with a database) have no row."""

services = sa.Table(
    "services",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("checked_at", sa.Float, nullable=True),
    sa.Column("endpoints", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
"""Services registered with the Hoist server by their OpenAPI or Ray Serve routes URL
(migration 0005): the server's registry (:mod:`hoist.server.service_registry`) keeps
their status and endpoints (JSON) as its background refresh last found them."""

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("strategy", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("health", sa.String(20), nullable=False),
    sa.Column("endpoint", sa.String(2000), nullable=True),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("owner", sa.String(300), nullable=True),
    sa.Column("snapshot", sa.Text, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("input_schema", sa.Text, nullable=True),
)
"""Deployments (migrations 0006, 0007): one row per version of a named deployment, written
by :mod:`hoist.deployment.records`; ``run_id`` is the deploy run that last started it,
``input_schema`` the JSON Schema of its inputs (when known)."""
