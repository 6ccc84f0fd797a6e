"""``LocalExecutor``: runs actions in this process (inline, or on worker threads)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hoist.errors import RunCancelledError
from hoist.executors.base import Executor, PreparedRun
from hoist.executors.handle import RunHandle
from hoist.plugins.context import RuntimeContext
from hoist.plugins.invoke import invoke_action
from hoist.runs.models import RunStatus

__all__ = ["LocalExecutor"]


class LocalExecutor(Executor):
    """Run in the current process: :meth:`execute` inline, :meth:`submit` on a thread pool.

    Args:
        max_workers: threads for submitted runs.
        **kwargs: see :class:`~hoist.executors.base.Executor`.
    """

    mode = "local"

    def __init__(self, *, max_workers: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _execute(self, prepared: PreparedRun) -> Any:
        return invoke_action(prepared.action_cls, prepared.params, self.context_for(prepared))

    def _submit(self, prepared: PreparedRun) -> RunHandle:
        ctx = self.context_for(prepared)
        # Taken once: by the worker that starts the run, or by a cancel that comes first
        # (a queued run then ends at once, not when a worker frees up).
        start = threading.Lock()
        future = self._executor().submit(self._run_submitted, prepared, ctx, start)

        def cancel() -> None:
            ctx.cancel()
            if start.acquire(blocking=False):  # never started: it ends here and now
                ctx.emit_status(RunStatus.CANCELLED)

        sink = self.sink
        return RunHandle(
            prepared.run.id,
            self.log,
            future=future,
            canceller=cancel,
            flush=sink.flush,
            initial=prepared.run,
            written=ctx.written,
        )

    def _run_submitted(
        self, prepared: PreparedRun, ctx: RuntimeContext, start: threading.Lock
    ) -> Any:
        if not start.acquire(blocking=False):  # cancelled while queued: already ended
            raise RunCancelledError(ctx.run_id)
        if ctx.is_cancelled():  # its cancel was asked through the store while queued
            ctx.emit_status(RunStatus.CANCELLED)
            raise RunCancelledError(ctx.run_id)
        return invoke_action(prepared.action_cls, prepared.params, ctx)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="hoist-run")
            return self._pool

    def shutdown(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
