"""Deployments: one row per version of a named deployment (strategy, status, health,
endpoint, the deploy run, the owning process, the code snapshot and the config).

The table is declared in the run store's ``schema`` module; :mod:`hoist.deployment.records`
reads and writes it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
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
    )


def downgrade() -> None:
    op.drop_table("deployments")
