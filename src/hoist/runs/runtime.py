"""The process's default run store and sink, built from :class:`~hoist.settings.Settings`
on first use (never at import time). ``run_plugin`` and executors created without an
explicit sink write here; the CLI configures it from its options first.

Which sink: a remote worker that has a Hoist server (``server_url``) and an API token
but no database (``database_url`` unset) posts its runs and events to the server
(:class:`~hoist.runs.sinks.http.HttpSink`); every other runtime writes to its run store.
The server takes posted runs only with a worker token (``hoist tokens create USER
--worker``); the same token serves the worker's reads and ``ctx.client`` calls, with its
account's role.

Layers above keep their per-process state in a runtime too, as :meth:`Runtime.component`
s (the plugin registry: :func:`hoist.plugins.discovery.plugin_registry`): it lives and ends
with the runtime, and this layer never imports them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hoist.settings import Settings

if TYPE_CHECKING:
    from hoist.runs.sinks.base import EventSink
    from hoist.runs.store import RunStore

__all__ = ["Runtime", "RuntimeBound", "configure", "get_runtime", "reset_runtime"]

_T = TypeVar("_T")


class Runtime:
    """Settings plus the store and sink they name, opened lazily.

    Args:
        settings: default: read from the ``HOIST_*`` environment variables.
        token: an API token for ``settings.server_url`` (default: ``settings.token``); a
            worker token, for a runtime that posts its runs there (:attr:`remote`).
    """

    def __init__(self, settings: Settings | None = None, *, token: str | None = None) -> None:
        self.settings = Settings.from_env() if settings is None else settings
        self.token = token or self.settings.token
        self._store: RunStore | None = None
        self._sink: EventSink | None = None
        self._components: dict[type[Any], Any] = {}
        self._lock = threading.Lock()

    @property
    def remote(self) -> bool:
        """Whether runs are posted to a Hoist server: a server URL and a token are
        configured and a database URL is not."""
        return bool(self.settings.server_url and self.token and not self.settings.database_url)

    @property
    def store(self) -> RunStore:
        """The run store (opened, and migrated, on first access)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from hoist.runs.store import RunStore

                    self._store = RunStore(self.settings.store_url)
        return self._store

    @property
    def sink(self) -> EventSink:
        """A batching sink: into :attr:`store`, or to the server when :attr:`remote`."""
        if self._sink is None:
            if self.remote:
                from hoist.runs.sinks.http import HttpSink

                assert self.settings.server_url is not None and self.token is not None
                with self._lock:
                    if self._sink is None:
                        self._sink = HttpSink(self.settings.server_url, self.token)
                return self._sink
            from hoist.runs.sinks.store import StoreSink  # readers (the CLI) never write

            store = self.store
            with self._lock:
                if self._sink is None:
                    self._sink = StoreSink(store)
        return self._sink

    @property
    def runs_dir(self) -> Path:
        """Where run folders (artifacts) live."""
        return self.settings.runs_dir

    def component(self, kind: type[_T]) -> _T:
        """This runtime's instance of ``kind``: built (``kind()``) on first use, closed
        (its ``close()``, if it has one) with the runtime.

        An upper layer keeps its process state here instead of in a module global, so a
        fresh runtime (:func:`reset_runtime`, :func:`configure`) starts it afresh.
        """
        found = self._components.get(kind)
        if found is None:
            with self._lock:
                found = self._components.get(kind)
                if found is None:
                    found = self._components[kind] = kind()
        return found

    def close(self) -> None:
        """Close the components, flush the sink and close the store."""
        with self._lock:
            components, self._components = list(self._components.values()), {}
        for component in reversed(components):
            close = getattr(component, "close", None)
            if callable(close):
                close()
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


def configure(settings: Settings, *, token: str | None = None) -> Runtime:
    """Replace the process-wide runtime with one built from ``settings`` (and ``token``,
    the API token of a remote worker: see :class:`Runtime`). The old one is closed, its
    components (the plugin registry) with it."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = Runtime(settings, token=token)
    return _runtime


def reset_runtime() -> None:
    """Close the process-wide runtime (its components too: the plugin registry forgets
    every plugin); the next use rebuilds it from the environment."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None


class RuntimeBound:
    """What records runs through a runtime (executors, service pools): the one given, or
    the process runtime looked up on first use (never at construction or import), and its
    sink unless one was given. Subclasses set ``_runtime`` and ``_sink`` (or leave them
    ``None``)."""

    _runtime: Runtime | None = None
    _sink: EventSink | None = None

    @property
    def runtime(self) -> Runtime:
        """The runtime runs are recorded in."""
        if self._runtime is None:
            self._runtime = get_runtime()
        return self._runtime

    @property
    def sink(self) -> EventSink:
        """Where runs send their events (the runtime's sink unless one was given)."""
        if self._sink is None:
            self._sink = self.runtime.sink
        return self._sink
