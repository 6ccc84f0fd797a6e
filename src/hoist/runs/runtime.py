"""The process's default run store and sink, built from :class:`~hoist.settings.Settings`
on first use (never at import time). ``run_plugin`` and executors created without an
explicit sink write here; the CLI configures it from its options first."""

from __future__ import annotations

import threading
from pathlib import Path

from hoist.runs.sinks.store import StoreSink
from hoist.runs.store import RunStore
from hoist.settings import Settings

__all__ = ["Runtime", "configure", "get_runtime", "reset_runtime"]


class Runtime:
    """Settings plus the store and store sink they name, opened lazily."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._store: RunStore | None = None
        self._sink: StoreSink | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> RunStore:
        """The run store (opened, and migrated, on first access)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = RunStore(self.settings.store_url)
        return self._store

    @property
    def sink(self) -> StoreSink:
        """A batching sink into :attr:`store`."""
        if self._sink is None:
            store = self.store
            with self._lock:
                if self._sink is None:
                    self._sink = StoreSink(store)
        return self._sink

    @property
    def runs_dir(self) -> Path:
        """Where run folders (artifacts) live."""
        return self.settings.runs_dir

    def close(self) -> None:
        """Flush the sink and close the store."""
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        if self._store is not None:
            self._store.close()
            self._store = None


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime (from ``HOIST_*`` settings unless :func:`configure` d)."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = Runtime()
    return _runtime


def configure(settings: Settings) -> Runtime:
    """Replace the process-wide runtime with one built from ``settings``."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = Runtime(settings)
    return _runtime


def reset_runtime() -> None:
    """Close the process-wide runtime; the next use rebuilds it from the environment."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None
