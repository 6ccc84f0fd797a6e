"""``RayServicePool``: service executions on a warm pool of Ray actors.

``ServeAPI(executor=RayServicePool())`` runs a service's entry points on a few async Ray
actors (:class:`~hoist.services.ray_actor.ServiceActor`), created once on the first
launch (or by :meth:`RayServicePool.warm`), each running many executions at once; no
actor is created per execution. The driver (this process) admits a launch or refuses it
as the in-process pool does (``max_concurrency`` running, ``max_queued`` waiting, beyond
that :class:`~hoist.errors.ServiceBusyError`), records the run ``queued`` so its id
exists at once, and sends it to the least busy actor. The actor owns the run from then
on: its context, its events, its end.

Entry points travel by their importable name (``"my_service.calc:execute"``), or
cloudpickled when they have none. A cancel reaches the actor at any point (queued there
or running) and ends the run ``cancelled``; so does one asked through the store, which
the actor's sink polls. An actor that dies ends its runs ``lost`` at once (its driver
sees it), and a new one takes its place on the next launch. If the driver dies its
actors die with it (Ray's ownership) and the runs' heartbeats stop, so the server's
sweep marks them ``lost``. An answer to a run's lock is forwarded to the actor that
owns the run, where its form and lease check it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

from hoist.errors import HoistError, RunCancelledError, RunLostError, ServiceBusyError
from hoist.executors.ray.connect import ensure_ray, map_ray_error, on_disconnect
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services.entry import resolve_entry_point
from hoist.services.execution import Execution, ServiceExecutor
from hoist.services.locks import LockAnswer
from hoist.services.ray_actor import ServiceActor, execution_payload

__all__ = ["RayServicePool"]

_log = logging.getLogger("hoist.services")


@dataclass(slots=True)
class _Placed:
    """An execution sent to an actor, until the actor answers."""

    actor: Any
    sent: float
    cancelled: bool = False


class RayServicePool(ServiceExecutor):
    """Runs a service's executions on warm Ray actors.

    Args:
        runtime: where runs are recorded (default: the process runtime); the actors
            write to the same store, or to the same server.
        actors: how many warm actors (each runs many executions at once).
        max_concurrency: executions running at once, over all actors.
        max_queued: executions waiting beyond those; more are refused.
        name: the service's name (in messages and :class:`ServiceBusyError`).
        address: the Ray cluster (default: ``HOIST_RAY_ADDRESS``, else the cluster
            this process is connected to, else a private local Ray).
        num_cpus: CPUs each actor holds (default 0: an entry point orchestrates; the
            Ray tasks it fans out ask for their own).
        runtime_env: the actors' Ray runtime environment (where they import the entry
            points from, their environment variables).
        secrets: environment variables set inside the actors only.
        env: settings handed to each execution's context (``ctx.env``).
        ray_num_cpus: CPUs of a private local Ray, when one is started.
    """

    def __init__(
        self,
        runtime: Runtime | None = None,
        *,
        actors: int = 1,
        max_concurrency: int = 32,
        max_queued: int = 1000,
        name: str = "service",
        address: str | None = None,
        num_cpus: float = 0,
        runtime_env: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        env: Mapping[str, Any] | None = None,
        ray_num_cpus: int = 2,
    ) -> None:
        if actors < 1 or max_concurrency < 1 or max_queued < 0:
            raise ValueError("actors and max_concurrency must be >= 1, max_queued >= 0")
        self.actors = actors
        self.max_concurrency = max_concurrency
        self.max_queued = max_queued
        self.name = name
        self.address = address
        self.num_cpus = num_cpus
        self.runtime_env = dict(runtime_env or {})
        self.secrets = dict(secrets or {})
        self.env = dict(env or {})
        self.ray_num_cpus = ray_num_cpus
        self._runtime = runtime
        self._lock = threading.Lock()
        self._pool: list[Any] = []
        self._load: dict[int, int] = {}
        self._sent: dict[int, int] = {}
        self._runs: dict[str, _Placed] = {}
        self._closed = False
        self._ray: Any = None
        self._mean_duration = 0.0

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled with its app (a Ray Serve ingress): the copy builds its own actors in
        # the process it lands in, recording runs in that process's runtime.
        options: dict[str, Any] = {
            "actors": self.actors, "max_concurrency": self.max_concurrency,
            "max_queued": self.max_queued, "name": self.name, "address": self.address,
            "num_cpus": self.num_cpus, "runtime_env": self.runtime_env,
            "secrets": self.secrets, "env": self.env, "ray_num_cpus": self.ray_num_cpus,
        }  # fmt: skip
        return partial(RayServicePool, **options), ()

    # ------------------------------------------------------------------ wiring

    @property
    def limit(self) -> int:
        """Executions admitted at most (running and queued)."""
        return self.max_concurrency + self.max_queued

    @property
    def active(self) -> int:
        """Executions admitted and not ended."""
        return len(self._runs)

    def warm(self, timeout: float = 60.0) -> list[int]:
        """Start every actor now and wait until each answers; returns their pids."""
        ray = self._connect()
        with self._lock:
            while len(self._pool) < self.actors:
                self._add_actor(ray)
            pool = list(self._pool)
        pids: list[int] = ray.get([actor.pid.remote() for actor in pool], timeout=timeout)
        return pids

    # ------------------------------------------------------------------ the contract
    def start(self, execution: Execution) -> None:
        """Admit ``execution``, record its run ``queued`` and send it to an actor;
        returns at once. Callable from any thread.

        Raises:
            ServiceBusyError: ``max_concurrency + max_queued`` executions are admitted
                already, or the pool is closed; nothing was recorded.
            EntryPointError: the entry point cannot be resolved or sent to Ray.
            RayUnavailableError: no Ray cluster could be reached.
        """
        entry = resolve_entry_point(execution.entry)
        payload = execution_payload(execution, entry)
        run = execution.run
        ray = self._connect()
        with self._lock:
            if self._closed or len(self._runs) >= self.limit:
                raise ServiceBusyError(self.name, self.limit, self._retry_after())
            actor = self._least_busy(ray)
            # Sent under the lock, numbered in sending order: the actor starts them in
            # that order (a number is used only once its call is on its way).
            number = self._sent[id(actor)]
            ref = actor.execute.remote(payload, number)
            self._sent[id(actor)] = number + 1
            self.sink.open_run(run)  # before the actor's records or after: never over them
            self._runs[run.id] = _Placed(actor, time.monotonic())
            self._load[id(actor)] += 1
        ref.future().add_done_callback(partial(self._answered, run.id))

    def cancel(self, run_id: str) -> bool:
        """End a queued or running execution ``cancelled`` (the actor ends it; waits up
        to 10 s for its answer); ``True`` when it was one of this pool's."""
        with self._lock:
            placed = self._runs.get(run_id)
            if placed is None:
                return False
            placed.cancelled = True
        try:
            self._ray.get(placed.actor.cancel.remote(run_id), timeout=10)
        except Exception as exc:  # the actor is gone: its answer says lost
            _log.warning("%s: cancel of %s did not reach its actor: %s", self.name, run_id, exc)
        return True

    def answer(self, run_id: str, lock_id: str, values: Any, user: str | None) -> LockAnswer:
        """Answer an open lock of a run: forwarded to the actor running it (waits up to
        30 s for its answer); ``gone`` when the run is not one of this pool's, or its
        actor is gone."""
        actor = self._actor_of(run_id)
        if actor is None:
            return LockAnswer("gone", detail=f"run {run_id} is not running here")
        answer: LockAnswer | None = self._ask(actor.answer.remote(run_id, lock_id, values, user))
        return answer or LockAnswer("gone", detail=f"the worker of run {run_id} is gone")

    def lock_view(self, run_id: str, lock_id: str) -> dict[str, Any] | None:
        """An open lock of a run, as the actor running it describes it."""
        actor = self._actor_of(run_id)
        if actor is None:
            return None
        view: dict[str, Any] | None = self._ask(actor.lock_view.remote(run_id, lock_id))
        return view

    def _actor_of(self, run_id: str) -> Any:
        with self._lock:
            placed = self._runs.get(run_id)
        return None if placed is None or placed.cancelled else placed.actor

    def _ask(self, ref: Any) -> Any:
        """An actor's answer; ``None`` when the actor is gone. An error raised there
        (a lease's bug) is raised here as itself."""
        try:
            return self._ray.get(ref, timeout=30)
        except Exception as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, HoistError):
                raise cause from None
            _log.warning("%s: a lock call did not reach its actor: %s", self.name, exc)
            return None

    def close(self, timeout: float = 10.0) -> None:
        """Stop admitting, cancel what runs (each actor flushes its runs' ends) and end
        the actors. Closing again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._end_actors(timeout)

    # ------------------------------------------------------------------ actors
    def _connect(self) -> Any:
        if self._ray is None or not self._ray.is_initialized():
            # Without an address, a process already connected (a Serve replica, a
            # driver that called ray.init) keeps its cluster.
            address = self.address or self.runtime.settings.ray_address
            self._ray = ensure_ray(address, num_cpus=self.ray_num_cpus)
            on_disconnect(self._end_actors)  # actors go before the connection
        return self._ray

    def _least_busy(self, ray: Any) -> Any:
        """The actor with the fewest executions (a new one while the pool is not full);
        the caller holds the lock."""
        if len(self._pool) < self.actors:
            self._add_actor(ray)
        return min(self._pool, key=lambda a: self._load[id(a)])

    def _add_actor(self, ray: Any) -> None:
        runtime = self.runtime
        settings = runtime.settings
        store_url = None if runtime.remote else settings.store_url
        secrets = {**settings.with_(token=runtime.token).server_environ(), **self.secrets}
        per_actor = math.ceil(self.max_concurrency / self.actors)
        options: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            # every admitted execution may wait at one actor, plus its cancels
            "max_concurrency": self.limit + 16,
        }
        if self.runtime_env:
            options["runtime_env"] = self.runtime_env
        actor = (
            ray.remote(ServiceActor)
            .options(**options)
            .remote(store_url, str(settings.home), secrets, self.name, per_actor, self.env)
        )
        self._pool.append(actor)
        self._load[id(actor)] = 0
        self._sent[id(actor)] = 0

    def _drop(self, actor: Any) -> None:
        with self._lock:
            if actor in self._pool:
                self._pool.remove(actor)
                self._load.pop(id(actor), None)
                self._sent.pop(id(actor), None)

    def _end_actors(self, timeout: float = 10.0) -> None:
        """Close and end every actor (before this process leaves its cluster)."""
        with self._lock:
            pool, self._pool = list(self._pool), []
        ray = self._ray
        if ray is None or not ray.is_initialized() or not pool:
            return
        with contextlib.suppress(Exception):
            ray.get([actor.close.remote() for actor in pool], timeout=timeout)
        for actor in pool:
            with contextlib.suppress(Exception):
                ray.kill(actor)

    # ------------------------------------------------------------------ endings
    def _answered(self, run_id: str, answer: Future[Any]) -> None:
        """An actor answered for ``run_id`` (on a Ray thread): the run has ended there,
        or the actor is gone."""
        with self._lock:
            placed = self._runs.pop(run_id, None)
            if placed is None:
                return
            if id(placed.actor) in self._load:
                self._load[id(placed.actor)] -= 1
            took = time.monotonic() - placed.sent
            self._mean_duration += (took - self._mean_duration) * 0.1
        self.sink.release(run_id)  # its end is the actor's to record
        try:
            answer.result()
            return
        except BaseException as exc:
            error = map_ray_error(
                exc, run_id, worker="the Ray actor running it", cancelled=placed.cancelled
            )
            if error is None:
                error = RunLostError(run_id, f"the Ray actor running it failed: {exc!r}")
        if isinstance(error, RunLostError):
            self._drop(placed.actor)
        # Writing the end may wait on the store: not on Ray's callback thread.
        threading.Thread(target=self._record, args=(run_id, error), daemon=True).start()

    def _record(self, run_id: str, error: HoistError) -> None:
        if self.runtime.remote:  # no store here: the server's sweep ends the run lost
            _log.warning("%s: run %s: %s", self.name, run_id, error)
            return
        try:
            self.sink.flush()
            store = self.runtime.store
            if isinstance(error, RunCancelledError):
                store.end_run(run_id, RunStatus.CANCELLED, "RunCancelled", "cancelled")
            elif isinstance(error, RunLostError):
                store.mark_lost(run_id, error.error_message)
            else:
                store.end_run(run_id, RunStatus.FAILED, type(error).__name__, str(error))
        except Exception as exc:
            _log.error("%s: the end of run %s could not be recorded: %s", self.name, run_id, exc)

    def _retry_after(self) -> float:
        """Seconds until a launch is likely admitted (as the in-process pool says)."""
        waves = (len(self._runs) - self.max_concurrency) / self.max_concurrency + 1
        return float(max(1, round(self._mean_duration * waves + 0.5)))
