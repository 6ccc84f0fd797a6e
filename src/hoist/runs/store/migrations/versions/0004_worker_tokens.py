"""Worker credentials: an API token's ``kind`` (``user`` or ``worker``; only worker
tokens may post to ``/ingest``), and ``run_writers``, the worker each ingested run
belongs to (the only one that may post its events).

``api_tokens`` belongs to :mod:`hoist.server.accounts` (see its ``tables`` module);
``run_writers`` to the run store.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_writers",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("writer", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="user"))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("kind")
    op.drop_table("run_writers")
