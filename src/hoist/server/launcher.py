"""Launch, resume and cancel runs for the API, on executors the server owns.

Every executor writes through the server's own store sink, whose commits wake the
event hub: an event of a run the server launched reaches its streams without waiting
for the next poll.
"""

from __future__ import annotations

import threading
from typing import Any

from hoist.errors import ResumeError, StoreError
from hoist.executors.base import Executor
from hoist.executors.handle import RunHandle
from hoist.executors.modes import executor_class, resolve_mode
from hoist.runs.models import Run, RunKind, RunStatus
from hoist.runs.reader import STALE_AFTER
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.store import StoreSink
from hoist.server.catalog import PluginCatalog
from hoist.server.errors import ApiError
from hoist.server.schemas import LaunchRequest, ResumeRequest

__all__ = ["Launcher"]


class Launcher:
    """Starts runs and keeps the handles of those still running in this process.

    Args:
        runtime: the store and settings.
        sink: where the server's runs write (a sink that notifies the event hub).
        catalog: the plugins that may be launched.
        stale_after: seconds without a heartbeat after which a queued run's server is
            taken to be dead (its cancel then ends it at once).
    """

    def __init__(
        self,
        runtime: Runtime,
        sink: StoreSink,
        catalog: PluginCatalog,
        *,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.runtime = runtime
        self.sink = sink
        self.catalog = catalog
        self.stale_after = stale_after
        self._executors: dict[str, Executor] = {}
        self._handles: dict[str, RunHandle] = {}
        self._lock = threading.Lock()

    def executor(self, mode: str) -> Executor:
        """The server's executor for ``mode`` (built on first use).

        Raises:
            UnknownModeError: no such mode.
        """
        with self._lock:
            found = self._executors.get(mode)
            if found is None:
                options: dict[str, Any] = {"sink": self.sink, "runtime": self.runtime}
                if mode != "local":
                    options["address"] = self.runtime.settings.ray_address
                found = self._executors[mode] = executor_class(mode)(**options)
            return found

    def launch(self, request: LaunchRequest, *, record_now: bool = True) -> str:
        """Start what ``request`` names; returns the new run's id (already stored unless
        ``record_now`` is false: a caller that waits for the run and flushes the sink
        itself saves a commit).

        Raises:
            PluginNotFoundError, ActionNotFoundError, PipelineNotFoundError: unknown names.
            StoreUnwritableError: the store refuses writes (at once; the run is cancelled).
            ParamsValidationError: bad params, naming every failing field (no run starts).
            UnknownModeError: no such executor mode.
        """
        plugin = self.catalog.get(request.plugin)
        # The mode used is written back into the request (callers count launches by it).
        request.mode = resolve_mode(request.mode, plugin, request.action)
        executor = self.executor(request.mode)
        if request.pipeline is not None:
            from hoist.pipelines.config import pipeline_from_config
            from hoist.pipelines.launch import start_pipeline

            built = pipeline_from_config(plugin, request.pipeline)
            handle = start_pipeline(built, request.params, executor=executor, background=True)
        else:
            assert request.action is not None
            prepared = executor.prepare_plugin(plugin, request.action, request.params)
            handle = executor.submit_prepared(prepared)
            try:
                if record_now:
                    self.sink.flush()  # the id we return can be read at once, by any server
            except StoreError:
                # Not recorded, so not launched: the caller's retry must not make two.
                handle.cancel()
                raise
        self._keep(handle)
        return handle.run_id

    def resume(self, run_id: str, request: ResumeRequest) -> str:
        """Resume a pipeline run; returns the new run's id.

        Raises:
            RunNotFoundError: no such run.
            ResumeError: not a pipeline run, nothing to resume, changed params, a plugin
                or action the catalog does not offer, a corrupt record...
        """
        from hoist.pipelines.launch import start_pipeline
        from hoist.pipelines.rebuild import pipeline_from_catalog

        run = self.runtime.store.get_run(run_id)
        if run.kind != RunKind.PIPELINE:
            raise ResumeError(run.id, f"it is an {run.kind} run, not a pipeline run")
        if run.status is RunStatus.SUCCEEDED:
            raise ResumeError(run.id, "it already succeeded; nothing to resume")
        # The stored record is data: its actions come from the catalog by plugin code
        # and action name, never from the folders or entrypoints it names.
        built = pipeline_from_catalog(run, self.catalog.get)
        params = request.params
        if params is not None and not request.allow_param_changes:
            params = {**run.params, **params}
        executor = self.executor(run.mode if run.mode in ("local", "task") else "local")
        handle = start_pipeline(
            built, params, executor=executor, resume_from=run.id,
            allow_param_changes=request.allow_param_changes, force=request.force,
            background=True,
        )  # fmt: skip
        self._keep(handle)
        return handle.run_id

    def cancel(self, run_id: str) -> Run:
        """Ask a run to stop: at once when it runs here, else through the store's flag
        (its worker, wherever it is, reads it).

        A queued run that no worker started ends ``cancelled`` at once when it waits in
        this server's queue (it is dropped from it) or when its server died; one queued
        on another live server is dropped by that server's next sweep.

        Raises:
            RunNotFoundError: no such run.
            ApiError: 409 when the run already ended.
        """
        store = self.runtime.store
        run = store.get_run(run_id)
        if run.status.is_terminal:
            raise ApiError(409, f"run {run.id} already ended ({run.status})")
        store.request_cancel(run.id)
        with self._lock:
            handle = self._handles.get(run.id)
        if handle is not None:
            handle.cancel()
            self.sink.flush()  # a run dropped from the queue answers ``cancelled``
        elif run.status is RunStatus.QUEUED:
            store.reap_orphans(self.stale_after, [run.id])
        return store.get_run(run.id)

    def apply_cancel_requests(self) -> list[str]:
        """Cancel the runs started here whose cancel was asked through the store (by
        another server, say): those still queued end at once. Returns their ids."""
        with self._lock:
            waiting = {rid: h for rid, h in self._handles.items() if not h.done()}
        if not waiting:
            return []
        asked = sorted(self.runtime.store.cancel_requested_among(list(waiting)))
        for run_id in asked:
            waiting[run_id].cancel()
        return asked

    def handle(self, run_id: str) -> RunHandle | None:
        """The handle of a run started by this process and not forgotten yet, else
        ``None`` (read the store instead)."""
        with self._lock:
            return self._handles.get(run_id)

    def _keep(self, handle: RunHandle) -> None:
        with self._lock:
            for run_id in [rid for rid, h in self._handles.items() if h.done()]:
                del self._handles[run_id]
            self._handles[handle.run_id] = handle

    def shutdown(self) -> None:
        """Cancel the runs still running here and stop the executors."""
        with self._lock:
            handles = list(self._handles.values())
            executors = list(self._executors.values())
            self._handles.clear()
            self._executors.clear()
        for handle in handles:
            if not handle.done():
                handle.cancel()
        for executor in executors:
            executor.shutdown()
