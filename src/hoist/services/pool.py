"""``ServicePool``: the in-process :class:`~hoist.services.execution.ServiceExecutor`.

One pool per service (per ``ServeAPI`` app) holds its limits: at most ``max_concurrency``
executions run at once and ``max_queued`` more wait; a launch beyond that is refused
(:class:`~hoist.errors.ServiceBusyError`, HTTP 429) before anything is recorded.

Async entry points run as tasks on one event-loop thread the pool owns (started on first
use): an execution awaiting something holds no thread. Sync ones (and plugin actions) run
on a thread pool of ``max_concurrency`` threads, scheduled from that loop, inside a copy
of the execution's context (so their output is captured for their run:
:mod:`hoist.services.capture`). One ``asyncio.Semaphore`` gates both.

Each execution ends through :func:`hoist.plugins.invoke.recorded`, the place actions end
too. Its events pass through a gate that drops everything after the run's terminal
status: a cancel ends the run ``cancelled`` at once, at any point (queued: it never
starts; async: its task is cancelled; sync: the thread cannot be interrupted, so what it
still reports is dropped and its result ignored). Cancels asked through the store (the
server's ``POST /runs/{id}/cancel``) are noticed by one watcher on the loop.

An execution waiting for a person (``tracer.lock``) has its open locks on the pool's
:class:`~hoist.services.locks.LockBoard`, which :meth:`ServicePool.answer` answers; an
async one waits parked: it holds no thread and gives its running slot back until it
is answered (:mod:`hoist.services.slots`).

The sink heartbeats the open runs, queued, running or awaiting, and each names the pool as its
owner: a pool whose process dies leaves them to the server's sweep, which marks the
running ones ``lost`` and ends the queued ones ``failed``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hoist.errors import ActionFailedError, RunCancelledError, ServiceBusyError, StoreError
from hoist.executors.base import server_client_factory
from hoist.plugins.context import RuntimeContext
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.base import EventSink
from hoist.runs.store.endings import OWNER_META
from hoist.services import capture
from hoist.services.entry import EntryPoint, resolve_entry_point
from hoist.services.execution import Execution, ServiceExecutor
from hoist.services.gate import RunGate
from hoist.services.locks import LOCKS_EXTRA, LockAnswer, LockBoard, RunLocks
from hoist.services.slots import RunningSlots, Slot, run_async, run_sync

__all__ = ["ServicePool"]

_log = logging.getLogger("hoist.services")

CANCEL_POLL = 0.1
"""Seconds between two looks at the running executions' cancel flags."""


class ServicePool(ServiceExecutor):
    """Runs a service's executions in this process.

    Args:
        runtime: the store, sink and settings to use (default: the process runtime).
        sink: where runs and events go (default: the runtime's sink).
        max_concurrency: executions running at once (and threads for sync ones).
        max_queued: executions waiting beyond those; more are refused.
        name: the service's name (in messages and :class:`ServiceBusyError`).
        env: settings handed to each execution's context (``ctx.env``).
    """

    def __init__(
        self,
        *,
        runtime: Runtime | None = None,
        sink: EventSink | None = None,
        max_concurrency: int = 32,
        max_queued: int = 1000,
        name: str = "service",
        env: Mapping[str, Any] | None = None,
    ) -> None:
        if max_concurrency < 1 or max_queued < 0:
            raise ValueError("max_concurrency must be >= 1 and max_queued >= 0")
        self.name = name
        self.max_concurrency = max_concurrency
        self.max_queued = max_queued
        self.env = dict(env or {})
        self._runtime = runtime
        self._sink = sink
        self._slots: dict[str, Slot] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._running: RunningSlots | None = None
        self._busy: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._mean_duration = 0.0
        self._flush_wanted = threading.Event()
        self._client_factory: Any = None
        self._owner = f"{name}@{socket.gethostname()}:{os.getpid()}"
        self._board = LockBoard()

    # ------------------------------------------------------------------ wiring

    @property
    def limit(self) -> int:
        """Executions admitted at most (running and queued)."""
        return self.max_concurrency + self.max_queued

    @property
    def active(self) -> int:
        """Executions admitted and not ended (queued, running, or a cancelled sync one
        whose thread still runs)."""
        return len(self._slots)

    # ------------------------------------------------------------------ the contract
    def start(self, execution: Execution) -> None:
        """Admit ``execution``, record its run ``queued`` and schedule it; returns at once.
        Callable from any thread.

        Raises:
            ServiceBusyError: ``max_concurrency + max_queued`` executions are admitted
                already, or the pool is closed; nothing was recorded.
            EntryPointError: the execution's entry point cannot be resolved.
        """
        entry = resolve_entry_point(execution.entry)
        run = execution.run
        with self._lock:
            if self._closed or len(self._slots) >= self.limit:
                raise ServiceBusyError(self.name, self.limit, self._retry_after())
            loop = self._started()
            gate = RunGate(self.sink)
            ctx = self._context(run, gate, entry)
            slot = Slot(entry, execution.inputs, ctx, gate)
            assert self._running is not None  # made on the loop, which has started
            ctx.extras[LOCKS_EXTRA] = RunLocks(
                ctx, execution.locks, self._board, run.meta.get("user"),
                functools.partial(self._running.parked, slot),
            )  # fmt: skip
            self._slots[run.id] = slot
            # Owned: if this process dies, the sweep ends the run even while queued.
            run.meta.setdefault(OWNER_META, self._owner)
            gate.open_run(run)  # under the lock: a cancel finds the run recorded
        loop.call_soon_threadsafe(self._spawn, slot)

    def cancel(self, run_id: str) -> bool:
        """End a queued or running execution ``cancelled`` now; ``True`` when it was one
        of this pool's and had not ended."""
        with self._lock:
            slot = self._slots.get(run_id)
        if slot is None or not self._seal_cancelled(slot):
            return False
        self._cancel_task_soon(slot)
        return True

    def answer(self, run_id: str, lock_id: str, values: Any, user: str | None) -> LockAnswer:
        """Answer an open lock of one of this pool's runs (see
        :meth:`~hoist.services.locks.LockBoard.answer`); call it off the pool's loop."""
        return self._board.answer(run_id, lock_id, values, user)

    def lock_view(self, run_id: str, lock_id: str) -> dict[str, Any] | None:
        """An open lock of one of this pool's runs, as its answerer is shown it."""
        return self._board.view(run_id, lock_id)

    def close(self, timeout: float = 10.0) -> None:
        """Stop admitting, cancel what is queued or running, end the loop and threads
        (waiting up to ``timeout`` seconds for sync entry points to return), and flush
        the sink. Closing again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            slots = list(self._slots.values())
        # Every run ends ``cancelled`` before any task is: cancelling a running task frees
        # its running slot, and a queued execution taking it must find its run ended.
        for slot in slots:
            self._seal_cancelled(slot)
        for slot in slots:
            self._cancel_task_soon(slot)
        loop, thread = self._loop, self._loop_thread
        deadline = time.monotonic() + timeout
        if self._threads is not None:
            # A sync entry point cannot be interrupted: wait for it, but not forever.
            stopper = threading.Thread(
                target=self._threads.shutdown, kwargs={"cancel_futures": True}, daemon=True
            )
            stopper.start()
            stopper.join(max(0.0, deadline - time.monotonic()))
        if loop is not None and thread is not None:
            drained = asyncio.run_coroutine_threadsafe(self._drain(), loop)
            try:
                drained.result(max(0.1, deadline - time.monotonic()))
            except Exception as exc:  # a task that would not end: the loop stops anyway
                _log.warning("%s: executions did not end in time: %r", self.name, exc)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(max(0.1, deadline - time.monotonic()))
            if not thread.is_alive():
                loop.close()
            capture.uninstall()
        self._flush_wanted.set()  # ends the flusher thread (it sees _closed)
        try:
            self.sink.flush(max(0.1, deadline - time.monotonic()))
        except StoreError as exc:
            _log.error("%s: %s", self.name, exc)

    def __enter__(self) -> ServicePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ admission
    def _started(self) -> asyncio.AbstractEventLoop:
        """The pool's loop, started on first use (the caller holds the lock)."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=self._run_loop, args=(loop, ready), name=f"hoist-{self.name}", daemon=True
            )
            thread.start()
            ready.wait()
            threading.Thread(
                target=self._flusher, name=f"hoist-{self.name}-flush", daemon=True
            ).start()
            self._client_factory = server_client_factory(self.runtime)
            capture.install()
            self._loop, self._loop_thread = loop, thread
        return self._loop

    def _run_loop(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        self._running = RunningSlots(self.max_concurrency)
        self._busy = asyncio.Event()
        self._watcher = loop.create_task(self._watch(), name=f"hoist-{self.name}-watch")
        ready.set()
        loop.run_forever()

    def _retry_after(self) -> float:
        """Seconds until a launch is likely admitted: the queue's length in mean
        execution times, spread over the running slots; at least one."""
        waves = (len(self._slots) - self.max_concurrency) / self.max_concurrency + 1
        return float(max(1, round(self._mean_duration * waves + 0.5)))

    def _context(self, run: Run, gate: RunGate, entry: EntryPoint) -> RuntimeContext:
        return RuntimeContext(
            run.id,
            gate,
            env=self.env,
            action_name=entry.label.rpartition(":")[2] or "service",
            runs_dir=self.runtime.runs_dir,
            client_factory=self._client_factory,
        )

    # ------------------------------------------------------------------ on the loop
    def _spawn(self, slot: Slot) -> None:
        if slot.gate.ended:  # cancelled before it was scheduled
            self._forget(slot, None)
            return
        loop = asyncio.get_running_loop()
        slot.task = loop.create_task(self._execute(slot))
        assert self._busy is not None
        self._busy.set()

    async def _execute(self, slot: Slot) -> None:
        started: float | None = None
        running = self._running
        assert running is not None
        try:
            await running.take(slot)
            try:
                if slot.gate.ended:
                    return
                # Closing, or a cancel asked through the store while it was queued.
                if self._closed or slot.ctx.is_cancelled():
                    slot.gate.seal(slot.ctx, RunStatus.CANCELLED)
                    return
                started = time.monotonic()
                captured, token = capture.begin(slot.ctx)
                try:
                    if slot.entry.is_async:
                        await run_async(slot, captured)
                    else:
                        slot.sync_running = True
                        call = functools.partial(
                            contextvars.copy_context().run, run_sync, slot, captured
                        )
                        await asyncio.get_running_loop().run_in_executor(self._pool(), call)
                finally:
                    capture.end(captured, token)
            finally:
                running.give_back(slot)
        except (ActionFailedError, RunCancelledError, asyncio.CancelledError):
            pass  # recorded in the run's log
        except Exception:  # a bug of ours, not the entry point's: keep the pool going
            _log.exception("%s: execution %s failed", self.name, slot.ctx.run_id)
            slot.gate.seal(slot.ctx, RunStatus.FAILED)
        finally:
            self._forget(slot, started)

    def _forget(self, slot: Slot, started: float | None) -> None:
        with self._lock:
            self._slots.pop(slot.ctx.run_id, None)
        self._board.forget(slot.ctx.run_id)
        if started is not None:
            took = time.monotonic() - started
            self._mean_duration += (took - self._mean_duration) * 0.1
        self._flush_wanted.set()

    async def _watch(self) -> None:
        """Notice cancels asked through the store (the sink reads the flags in bulk, so
        each look is a set lookup per execution); sleeps while the pool is idle."""
        assert self._busy is not None
        while True:
            if not self._slots:
                self._busy.clear()
                await self._busy.wait()
            await asyncio.sleep(CANCEL_POLL)
            with self._lock:
                slots = list(self._slots.values())
            for slot in slots:
                if not slot.gate.ended and slot.ctx.is_cancelled() and self._seal_cancelled(slot):
                    self._cancel_task_soon(slot)

    async def _drain(self) -> None:
        """Wait for every execution's task to end, then stop the watcher (at close)."""
        with self._lock:
            tasks = [s.task for s in self._slots.values() if s.task is not None]
        if tasks:
            await asyncio.wait(tasks)
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)

    # ------------------------------------------------------------------ cancel, flush
    def _seal_cancelled(self, slot: Slot) -> bool:
        """End ``slot``'s run ``cancelled`` (its task is left to :meth:`_cancel_task_soon`);
        whether it had not ended."""
        slot.ctx.cancel()  # a sync entry point stops at its next cancellation point
        with slot.gate.lock:  # its open locks end before the run, which ends by this seal
            self._board.cancel_run(slot.ctx.run_id)
            if not slot.gate.seal(slot.ctx, RunStatus.CANCELLED):
                return False
        self._flush_wanted.set()
        return True

    def _cancel_task_soon(self, slot: Slot) -> None:
        """Cancel the task of ``slot`` (whose run has ended) on the pool's loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._cancel_task, slot)

    @staticmethod
    def _cancel_task(slot: Slot) -> None:
        # A sync execution's task keeps waiting for its thread: the slot stays taken
        # (and counted) until the thread is free again.
        if slot.task is not None and not slot.sync_running:
            slot.task.cancel()

    def _pool(self) -> ThreadPoolExecutor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(
                self.max_concurrency, thread_name_prefix=f"hoist-{self.name}"
            )
        return self._threads

    def _flusher(self) -> None:
        """Make ended runs durable promptly: one flush covers every execution that ended
        while the previous one wrote (see the module docstring of the sink's writer)."""
        while True:
            self._flush_wanted.wait()
            self._flush_wanted.clear()
            if self._closed:
                return
            try:
                self.sink.flush()
            except StoreError as exc:  # said by the sink too; the batch is kept
                _log.warning("%s: %s", self.name, exc)
