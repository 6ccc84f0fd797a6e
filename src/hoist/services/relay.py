"""Tracers that cross into Ray tasks: ``calculate.remote(i, tracer)``.

A run's events get their gap-free ``seq`` from the one
:class:`~hoist.plugins.context.RuntimeContext` that owns the run, in the process running
its entry point, so a Ray task in another process must not write events itself. A
:class:`~hoist.services.tracer.Tracer` therefore pickles as a :class:`RelayTracer`: each
call it gets in the task is sent to this process's **relay**, one small Ray actor per
owning process (created the first time a tracer is pickled, never per execution), and a
background thread here long-polls the relay and replays the calls on the run's context.

- A task's calls keep their order: each call returns once the relay holds it (``*_sync``
  blocks on that, the async twins await it).
- So whatever a task reported before it returned is in the relay before the entry point
  sees the task's result; :func:`drain_run`, called by the pool when an execution ends
  and before its terminal status, waits until the relay's calls up to that moment are on
  the run's context. A run whose tracer never left the process costs a set lookup.
- The run's own tracer does the same before each of its calls (:func:`settle_run`), so
  the log keeps the order things happened in: the lines a task traced come before the
  line the entry point traces after ``ray.get`` returned that task's result.
- Calls for a run that has ended are dropped (logged once per run).
- Pickling a tracer needs a Ray connection (only Ray tasks can reach the relay), and so
  does using one: either raises :class:`~hoist.executors.ray.connect.RayUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import sys
import threading
import weakref
from collections import OrderedDict
from typing import Any

from hoist.executors.ray.connect import RayUnavailableError, on_disconnect
from hoist.services.tracer import Tracer

__all__ = [
    "RelayTracer",
    "drain_run",
    "drain_run_async",
    "is_relayed",
    "reduce_tracer",
    "settle_run",
]

_log = logging.getLogger("hoist.services.relay")

LONG_POLL = 10.0
"""Seconds one ``take`` waits at the relay for calls before it answers empty."""

DRAIN_TIMEOUT = 10.0
"""Longest wait of :func:`drain_run` for the relay's calls to be replayed."""

Item = tuple[Any, ...]
"""A relayed call: ``("o", format, body, model, role)`` or ``("l", message, level)``."""


class _RelayActor:
    """The relay: holds calls from tasks until the owning process takes them.

    An async actor: ``take`` waits for calls on the actor's loop while ``put`` calls
    keep arriving. Both run on that one loop, so the count ``take`` answers with covers
    exactly the calls it hands over.
    """

    def __init__(self) -> None:
        self._items: list[tuple[str, Item]] = []
        self._count = 0
        self._arrived = asyncio.Event()

    def put(self, run_id: str, item: Item) -> None:
        self._items.append((run_id, item))
        self._count += 1
        self._arrived.set()

    def mark(self) -> int:
        """How many calls arrived so far."""
        return self._count

    async def take(self, timeout: float) -> tuple[int, list[tuple[str, Item]]]:
        """The calls held (waiting up to ``timeout`` s for one), and the count so far."""
        if not self._items:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        items, self._items = self._items, []
        return self._count, items


class _Owner:
    """This process's side of its relay: the runs whose tracers left the process, and
    the thread that replays their calls."""

    def __init__(self, ray: Any) -> None:
        self._ray = ray
        self.actor = ray.remote(_RelayActor).options(num_cpus=0, max_concurrency=1000).remote()
        # Weak: a run whose context is gone has ended (its pool dropped it), whether or
        # not it was drained; its late calls are then dropped like any ended run's.
        self._contexts: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._ended: OrderedDict[str, bool] = OrderedDict()  # run id → its drop was logged
        self._replayed = 0
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._drain, name="hoist-relay", daemon=True)
        self._thread.start()
        on_disconnect(self.close)  # leave before the connection does

    def register(self, ctx: Any) -> None:
        run_id = str(ctx.run_id)
        if run_id not in self._ended:  # a run that has ended stays ended
            self._contexts[run_id] = ctx

    def is_registered(self, run_id: str) -> bool:
        return run_id in self._contexts

    def _drain(self) -> None:
        while not self._stopped:
            try:
                count, items = self._ray.get(self.actor.take.remote(LONG_POLL))
            except BaseException as exc:
                # (ray.shutdown() ends a blocked get with SystemExit in this thread)
                if not self._stopped and self._ray.is_initialized():
                    _log.warning("the tracer relay stopped: %s", exc)
                self._stop()
                return
            for run_id, item in items:
                self._replay(run_id, item)
            with self._changed:
                self._replayed = count
                self._changed.notify_all()

    def _replay(self, run_id: str, item: Item) -> None:
        ctx = self._contexts.get(run_id)
        if ctx is None:
            if not self._ended.get(run_id):
                _log.warning("run %s has ended: its Ray tasks' tracer calls are dropped", run_id)
                self._end(run_id, logged=True)
            return
        try:
            if item[0] == "o":
                ctx.emit_output(*item[1:])
            else:
                ctx.emit_log(item[1], item[2], "tracer")
        except Exception as exc:  # one bad call must not stop the others' replay
            _log.warning("a tracer call of run %s could not be recorded: %s", run_id, exc)

    def settle(self, run_id: str, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait until every call the relay holds now has been replayed."""
        try:
            if not self._stopped:
                mark = self._ray.get(self.actor.mark.remote(), timeout=timeout)
                with self._changed:
                    self._changed.wait_for(lambda: self._stopped or self._replayed >= mark, timeout)
        except Exception as exc:  # the relay is gone: nothing more will arrive
            _log.warning("run %s: the tracer relay did not answer: %s", run_id, exc)

    def drain(self, run_id: str, timeout: float = DRAIN_TIMEOUT) -> None:
        try:
            self.settle(run_id, timeout)
        finally:
            self._contexts.pop(run_id, None)
            self._end(run_id)

    def _end(self, run_id: str, logged: bool = False) -> None:
        self._ended[run_id] = logged
        if len(self._ended) > 10_000:  # remembered long enough for stragglers
            self._ended.popitem(last=False)

    def _stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        global _owner
        with _owner_lock:
            if _owner is self:
                _owner = None

    def close(self) -> None:
        """End the relay (before this process leaves its cluster)."""
        self._stop()
        with contextlib.suppress(Exception):
            self._ray.kill(self.actor)


_owner: _Owner | None = None
_owner_lock = threading.Lock()


def _connected_ray(what: str) -> Any:
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        raise RayUnavailableError(
            f"{what}: a tracer travels only into Ray tasks and actors, and this process is "
            "not connected to Ray (connect first: ray.init(address=...) or HOIST_RAY_ADDRESS)"
        )
    return ray


def reduce_tracer(tracer: Tracer) -> tuple[Any, tuple[Any, ...]]:
    """``Tracer.__reduce__``: the tracer's run joins this process's relay (started on
    first use), and the tracer travels as a :class:`RelayTracer` to it."""
    global _owner
    run_id = tracer.run_id
    if isinstance(tracer, RelayTracer):  # a task passing its tracer on
        return _rebuild, (run_id, tracer._handle_bytes)
    ray = _connected_ray(f"cannot pickle the tracer of run {run_id}")
    with _owner_lock:
        if _owner is None:
            _owner = _Owner(ray)
        owner = _owner
    owner.register(tracer._ctx)
    return _rebuild, (run_id, ray.cloudpickle.dumps(owner.actor))


def _rebuild(run_id: str, handle_bytes: bytes) -> RelayTracer:
    return RelayTracer(run_id, handle_bytes)


def drain_run(run_id: str) -> None:
    """Call when ``run_id``'s execution ends, before its terminal status: every tracer
    call its Ray tasks made so far is then on its context; later ones are dropped.

    Costs a set lookup for a run whose tracer never left this process.
    """
    owner = _owner
    if owner is not None and owner.is_registered(run_id):
        owner.drain(run_id)


def is_relayed(run_id: str) -> bool:
    """Whether ``run_id``'s tracer went into Ray tasks (and has not ended)."""
    owner = _owner
    return owner is not None and owner.is_registered(run_id)


def settle_run(run_id: str) -> None:
    """Call before the run's own tracer records a call: every call its Ray tasks made
    so far is then on its context first. Costs a set lookup for a run whose tracer never
    left this process; blocks (on a Ray call) for one that did."""
    owner = _owner
    if owner is not None and owner.is_registered(run_id):
        owner.settle(run_id)


async def drain_run_async(run_id: str) -> None:
    """:func:`drain_run` for an event loop (waits on a thread; free for local runs)."""
    owner = _owner
    if owner is not None and owner.is_registered(run_id):
        await asyncio.to_thread(owner.drain, run_id)


_pending: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "hoist_relay_pending", default=None
)


class RelayTracer(Tracer):
    """A run's tracer inside a Ray task: every call goes to the owning process's relay.

    Built by unpickling a :class:`~hoist.services.tracer.Tracer`; not constructed by
    hand. ``fid`` is the run's id as in the owning process.
    """

    def __init__(self, run_id: str, handle_bytes: bytes) -> None:
        ray = _connected_ray(f"cannot use the tracer of run {run_id} here")
        super().__init__(None)
        self._run_id = run_id
        self._handle_bytes = handle_bytes
        self._ray = ray
        self._relay = ray.cloudpickle.loads(handle_bytes)

    @property
    def fid(self) -> str:
        """The run's id (kodosumi's "flow id")."""
        return self._run_id

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._run_id

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuild, (self._run_id, self._handle_bytes)

    # The two core calls of Tracer, sent instead of emitted.
    def _output(self, value: Any, role: str = "result") -> None:
        from hoist.services.response import output_of

        format, body, model = output_of(value)
        self._send(("o", format, body, model, role))

    def _log(self, level: str, message: Any) -> None:
        self._send(("l", str(message), level))

    def _send(self, item: Item) -> None:
        ref = self._relay.put.remote(self._run_id, item)
        pending = _pending.get()
        if pending is not None:
            pending.append(ref)  # an async twin awaits it
            return
        try:
            self._ray.get(ref)
        except Exception as exc:
            raise _relay_gone(self._run_id, exc) from exc

    async def _awaited(self, sync: Any, *args: Any) -> None:
        token = _pending.set([])
        try:
            sync(*args)
            refs = _pending.get() or []
        finally:
            _pending.reset(token)
        try:
            for ref in refs:
                await ref
        except Exception as exc:
            raise _relay_gone(self._run_id, exc) from exc

    async def markdown(self, *message: str) -> None:
        """:meth:`markdown_sync`, awaitable."""
        await self._awaited(self.markdown_sync, *message)

    async def html(self, *message: str) -> None:
        """:meth:`html_sync`, awaitable."""
        await self._awaited(self.html_sync, *message)

    async def text(self, *message: str) -> None:
        """:meth:`text_sync`, awaitable."""
        await self._awaited(self.text_sync, *message)

    async def result(self, *message: Any) -> None:
        """:meth:`result_sync`, awaitable."""
        await self._awaited(self.result_sync, *message)

    async def action(self, *message: Any) -> None:
        """:meth:`action_sync`, awaitable."""
        await self._awaited(self.action_sync, *message)

    async def debug(self, *message: Any) -> None:
        """:meth:`debug_sync`, awaitable."""
        await self._awaited(self.debug_sync, *message)

    async def warning(self, *message: Any, exc_info: bool = False) -> None:
        """:meth:`warning_sync`, awaitable."""
        await self._awaited(functools.partial(self.warning_sync, exc_info=exc_info), *message)


def _relay_gone(run_id: str, exc: BaseException) -> RayUnavailableError:
    return RayUnavailableError(
        f"the tracer of run {run_id} cannot reach its relay (the process running the "
        f"run's entry point has ended?): {type(exc).__name__}: {exc}"
    )
