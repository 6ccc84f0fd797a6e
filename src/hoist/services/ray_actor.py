"""The warm Ray actor of a :class:`~hoist.services.ray_pool.RayServicePool`.

Each actor hosts an in-process :class:`~hoist.services.pool.ServicePool` over its own
runtime, so an execution on Ray is the same execution as in-process: its context and
gap-free ``seq`` live here, with the output capture, the cancel watcher, the tracer
relay and the recorded ending. The actor only adds a way to wait for a run's end
(:class:`_Ends`, a view of the sink that notices terminal statuses) and the payload its
driver sends (:func:`execution_payload`).

The actor's runtime writes where its driver's does: the same run store (its URL and
``HOIST_HOME``), or the Hoist server's ingest (``HOIST_SERVER_URL`` and a worker token,
passed as secrets) when the driver posts its runs there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from hoist.errors import EntryPointError
from hoist.executors.ray.connect import import_ray
from hoist.plugins.context import RuntimeContext
from hoist.runs.models import EventBase, Run, RunStatus, StatusEvent
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.base import EventSink
from hoist.services.entry import EntryPoint, resolve_entry_point
from hoist.services.execution import Execution
from hoist.services.locks import LockAnswer
from hoist.services.pool import ServicePool
from hoist.settings import Settings

__all__ = ["ServiceActor", "execution_payload"]

_log = logging.getLogger("hoist.services")


def execution_payload(execution: Execution, entry: EntryPoint) -> bytes:
    """One execution as the bytes an actor runs: the run, the entry point by its
    importable name (cloudpickled when it has none), the inputs, the service and the
    app's lock handlers (cloudpickled: importable functions go by reference).

    Raises:
        EntryPointError: the entry point has no importable name and cannot be pickled.
    """
    blob = None
    if entry.name is None:
        try:
            blob = import_ray().cloudpickle.dumps(entry.target)
        except Exception as exc:
            raise EntryPointError(
                entry.label, f"it cannot be sent to a Ray worker ({type(exc).__name__}: {exc})"
            ) from exc
    locks = execution.locks
    if locks is not None and (locks.forms or locks.leases):
        try:
            locks_blob: bytes | None = import_ray().cloudpickle.dumps(locks)
        except Exception as exc:
            raise EntryPointError(
                entry.label, f"its lock handlers cannot be sent to a Ray worker ({exc!r})"
            ) from exc
    else:
        locks_blob = None
    return pickle.dumps(
        (execution.run, entry.name, blob, execution.inputs, execution.service, locks_blob),
        protocol=pickle.HIGHEST_PROTOCOL,
    )


class _Ends(EventSink):
    """The actor's sink, seen by its pool: forwards everything, and settles the waiter
    of a run when the run's terminal status passes."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self._waiters: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[str]]] = {}

    def expect(self, run_id: str) -> asyncio.Future[str]:
        """A future (on the running loop) settled with the run's terminal status."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._waiters[run_id] = (loop, future)
        return future

    def forget(self, run_id: str) -> None:
        self._waiters.pop(run_id, None)

    def open_run(self, run: Run) -> None:
        self.sink.open_run(run)

    def emit(self, event: EventBase) -> None:
        self.sink.emit(event)
        if type(event) is StatusEvent and event.status.is_terminal:
            waiter = self._waiters.pop(event.run_id, None)
            if waiter is not None:
                waiter[0].call_soon_threadsafe(_settle, waiter[1], str(event.status))

    def flush(self, timeout: float | None = None) -> None:
        self.sink.flush(timeout)

    def is_cancel_requested(self, run_id: str) -> bool:
        return self.sink.is_cancel_requested(run_id)


def _settle(future: asyncio.Future[str], status: str) -> None:
    if not future.done():
        future.set_result(status)


class ServiceActor:
    """Runs many executions at once, on an in-process pool (async entry points as tasks,
    sync ones on its threads); made a Ray actor by the driver.

    Args:
        store_url: the driver's run store; ``None`` when the driver posts its runs to a
            Hoist server (then ``secrets`` hold its URL and worker token).
        home: the driver's ``HOIST_HOME`` (run folders).
        secrets: environment set in this process (the server and its token).
        name: the service's name.
        max_concurrency: executions running at once in this actor.
        env: settings handed to each execution's context.
    """

    def __init__(
        self,
        store_url: str | None,
        home: str,
        secrets: dict[str, str],
        name: str,
        max_concurrency: int,
        env: dict[str, Any],
    ) -> None:
        os.environ.update(secrets)
        settings = Settings.from_env().with_(home=Path(home))
        if store_url is not None:
            settings = settings.with_(database_url=store_url)
        self.runtime = Runtime(settings)
        self._ends = _Ends(self.runtime.sink)
        # The driver admits executions: this pool never refuses one.
        self.pool = ServicePool(
            runtime=self.runtime, sink=self._ends, max_concurrency=max_concurrency,
            max_queued=1 << 30, name=name, env=env,
        )  # fmt: skip
        self._cancel_early: set[str] = set()
        # Executions start in the order the driver sent them (an async actor may run
        # calls out of order): each carries its number; early ones wait here.
        self._next = 0
        self._held: dict[int, Callable[[], None]] = {}

    async def execute(self, payload: bytes, number: int) -> str:
        """Run one execution to its end (started after the driver's earlier ones);
        returns its terminal status."""
        run, name, blob, inputs, service, locks = pickle.loads(payload)
        ended = self._ends.expect(run.id)
        self._held[number] = partial(self._begin, run, name, blob, inputs, service, locks)
        while self._next in self._held:
            self._held.pop(self._next)()
            self._next += 1
        return await ended

    def _begin(self, run: Run, name: str | None, blob: bytes | None, inputs: Any,
               service: str, locks: bytes | None) -> None:  # fmt: skip
        try:
            entry = resolve_entry_point(name if blob is None else pickle.loads(blob))
            handlers = None if locks is None else pickle.loads(locks)
            self.pool.start(Execution(run, entry, inputs, service, handlers))
        except Exception as exc:  # not importable here, or the actor is closing
            self._fail(run, exc)
            return
        if run.id in self._cancel_early:  # the cancel overtook the execution
            self._cancel_early.discard(run.id)
            self.pool.cancel(run.id)

    def _fail(self, run: Run, exc: BaseException) -> None:
        self._ends.open_run(run)
        ctx = RuntimeContext(run.id, self._ends)  # its failed status settles the waiter
        # Named by its first public class (entry.py's private subclasses are details).
        kind = next(c.__name__ for c in type(exc).__mro__ if not c.__name__.startswith("_"))
        detail = str(exc) or kind
        ctx.emit_error(
            kind,
            f"the entry point cannot be started on the Ray worker: {detail}",
            "".join(traceback.format_exception(exc)),
        )
        ctx.emit_status(RunStatus.FAILED)

    def cancel(self, run_id: str) -> bool:
        """End the run ``cancelled`` (or as soon as its execution arrives)."""
        if not self.pool.cancel(run_id):
            self._cancel_early.add(run_id)
        return True

    async def answer(self, run_id: str, lock_id: str, values: Any, user: str | None) -> LockAnswer:
        """Answer an open lock of a run here (its lease may block: off the loop)."""
        return await asyncio.to_thread(self.pool.answer, run_id, lock_id, values, user)

    def lock_view(self, run_id: str, lock_id: str) -> dict[str, Any] | None:
        """An open lock of a run here, as its answerer is shown it."""
        return self.pool.lock_view(run_id, lock_id)

    def pid(self) -> int:
        """This worker's process id (answered at once: the actor is up)."""
        return os.getpid()

    def close(self) -> None:
        """Cancel what runs, and flush."""
        self.pool.close()
        self.runtime.close()
