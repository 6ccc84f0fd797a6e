"""Indexes that keep every read flat however large the store grows (issue 19).

Each list filter gets a composite index ending in the list's order, ``(created_at,
id)``: the database walks the newest matches of the filter and stops at the page's end
instead of reading every match and sorting (the one-column indexes they replace are
their prefixes; status and plugin together, the commonest pair, have their own).
``(created_at, id)`` itself serves keyset pages, and ``events(run_id, type, seq)`` a
long run's events of one type (progress, artifacts, steps) without walking its log.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_FILTERS = {"status": "status", "plugin": "plugin", "action": "action", "kind": "kind",
            "parent": "parent_id"}  # fmt: skip
_OLD = {"ix_runs_parent_id": ["parent_id"], "ix_runs_plugin": ["plugin"],
        "ix_runs_status": ["status"], "ix_runs_created_at": ["created_at"]}  # fmt: skip


def upgrade() -> None:
    for name in _OLD:
        op.drop_index(name, table_name="runs")
    op.create_index("ix_runs_created", "runs", ["created_at", "id"])
    for name, column in _FILTERS.items():
        op.create_index(f"ix_runs_{name}_created", "runs", [column, "created_at", "id"])
    op.create_index("ix_runs_status_plugin_created", "runs",
                    ["status", "plugin", "created_at", "id"])  # fmt: skip
    op.create_index("ix_events_run_type_seq", "events", ["run_id", "type", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_run_type_seq", table_name="events")
    for name in _FILTERS:
        op.drop_index(f"ix_runs_{name}_created", table_name="runs")
    op.drop_index("ix_runs_status_plugin_created", table_name="runs")
    op.drop_index("ix_runs_created", table_name="runs")
    for name, columns in _OLD.items():
        op.create_index(name, "runs", columns)
