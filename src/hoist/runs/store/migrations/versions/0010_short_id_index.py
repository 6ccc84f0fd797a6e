"""An index on each run id's short form (issue 19), the last 8 characters the CLI's tables
and the panel show: a short id typed back is one index seek, where ``LIKE '%3f9a01c2'``
reads every id. The expression is the one :func:`hoist.runs.store.schema.short_id_of`
writes (SQLite and PostgreSQL spell it alike).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_short_id", "runs", [sa.text("substr(id, length(id) - 7)")])


def downgrade() -> None:
    op.drop_index("ix_runs_short_id", table_name="runs")
