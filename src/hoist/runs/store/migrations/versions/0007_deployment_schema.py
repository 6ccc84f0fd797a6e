"""Deployments remember the JSON Schema of their inputs (``input_schema``, nullable TEXT):
the panel's invoke form and other processes' callers read it from the record.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deployments", sa.Column("input_schema", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("input_schema")
