"""The run store: runs and events in SQLite (embedded default) or PostgreSQL."""

from hoist.runs.store.store import RunStore

__all__ = ["RunStore"]
