"""A summary of each run's log kept by the writer (issue 19): ``run_tallies`` (how many
events of each type) and ``run_progress`` (the newest event of each progress bar), so
that a run page reads a few rows instead of counting a long log.

The events already stored are summarised here, in SQL: a bar is the category as JSON
(``null`` for the main bar), as the writer's rows hold it (see
:mod:`hoist.runs.store.tallies`).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BAR = {
    "sqlite": "CASE WHEN json_type(data, '$.category') = 'text'"
    " THEN json_quote(json_extract(data, '$.category')) ELSE 'null' END",
    "postgresql": "COALESCE(CAST(data AS json) -> 'category', 'null')::text",
}


def upgrade() -> None:
    op.create_table(
        "run_tallies",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("type", sa.String(20), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "run_progress",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("bar", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
    )
    op.execute(
        "INSERT INTO run_tallies (run_id, type, count)"
        " SELECT run_id, type, count(*) FROM events GROUP BY run_id, type"
    )
    bar = _BAR[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO run_progress (run_id, bar, seq)"
        f" SELECT run_id, bar, max(seq) FROM (SELECT run_id, seq, {bar} AS bar"
        " FROM events WHERE type = 'progress') AS progress GROUP BY run_id, bar"
    )


def downgrade() -> None:
    op.drop_table("run_progress")
    op.drop_table("run_tallies")
