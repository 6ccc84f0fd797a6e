"""Alembic environment: always run on the connection Hoist hands over, comparing with the
``target_metadata`` it hands over (the run store's tables plus those of the layers above
that live in its database: see :func:`hoist.runs.store.migrate.target_metadata`)."""

from __future__ import annotations

from alembic import context

from hoist.runs.store.migrate import compared, expression_indexes_unreflected, target_metadata

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=attributes.get("target_metadata") or target_metadata(),
    render_as_batch=True,
    include_object=compared,
)
with context.begin_transaction(), expression_indexes_unreflected():
    context.run_migrations()
