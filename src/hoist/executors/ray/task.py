"""``RayActorExecutor`` (``mode='task'``): actions in warm Ray actors.

One pool of actors per (plugin, environment), reused across calls; a failing action
leaves its actor warm. Events go from the actor straight to the run store, so the
driver, ``hoist runs logs --follow`` and any ``RunHandle`` see progress live.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from hoist.errors import (
    ActionFailedError,
    HoistError,
    ResultValidationError,
    RunCancelledError,
    RunLostError,
)
from hoist.executors.base import Executor, PreparedRun
from hoist.executors.handle import RunHandle
from hoist.executors.ray.actor import action_payload
from hoist.executors.ray.channel import ActorLine
from hoist.executors.ray.connect import (
    ensure_ray,
    map_ray_error,
    on_disconnect,
    on_this_machine,
)
from hoist.executors.ray.packaging import (
    PackageOptions,
    plugin_runtime_env_from_config,
    upload_working_dir,
)
from hoist.executors.ray.worker import RECHECK_AFTER, ActionSpec, Outcome
from hoist.plugins.invoke import worker_params
from hoist.runs.models import RunStatus

__all__ = ["RayActorExecutor", "action_entrypoint", "outcome_result"]


class RayActorExecutor(Executor):
    """Run actions in warm Ray actors.

    Args:
        address: the cluster (default: ``HOIST_RAY_ADDRESS``, else a private local Ray).
        num_cpus, num_gpus, memory: resources of each actor.
        pool_size: actors per (plugin, environment); calls go to the least busy one.
        runtime_env: extra Ray runtime environment for the actors.
        package: options for shipping plugin folders (size limit, excludes, env
            allow-list).
        secrets: environment variables set inside the actors, never in job records.
        ship: copy plugin folders to the cluster (default: only when the cluster is not
            on this machine; workers on this machine read the folder in place).
        compiled: call actors through Ray compiled graphs (a shared-memory channel, many
            times cheaper than a method call); falls back to method calls when a graph
            cannot be compiled.
        **kwargs: see :class:`~hoist.executors.base.Executor`.
    """

    mode = "task"
    _pool_kind = "action"

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        memory: int | None = None,
        pool_size: int = 1,
        runtime_env: Mapping[str, Any] | None = None,
        package: PackageOptions | None = None,
        secrets: Mapping[str, str] | None = None,
        ray_num_cpus: int = 2,
        ship: bool | None = None,
        compiled: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.compiled = compiled
        self.address = address
        self.num_cpus, self.num_gpus, self.memory = num_cpus, num_gpus, memory
        self.pool_size = max(1, pool_size)
        self.runtime_env = dict(runtime_env or {})
        self.package = package or PackageOptions()
        self.secrets = dict(secrets or {})
        self.ray_num_cpus = ray_num_cpus
        self.ship = ship
        self._env = dict(self.env)
        self._pools: dict[str, list[Any]] = {}
        self._busy: dict[int, int] = {}
        self._running: dict[str, Any] = {}
        self._lines: dict[int, ActorLine] = {}
        self._cancel_requested: set[str] = set()
        self._placements: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._recent_placement: dict[str | None, tuple[float, tuple[str, Any, Any]]] = {}
        self._lock = threading.Lock()
        self._ray: Any = None

    # ------------------------------------------------------------------ actors
    def _connect(self) -> Any:
        if self._ray is None or not self._ray.is_initialized():
            self._ray = ensure_ray(self.cluster_address, num_cpus=self.ray_num_cpus)
            on_disconnect(self._end_actors)  # graphs and actors go before the connection
        return self._ray

    def _actor(self, prepared: PreparedRun) -> tuple[Any, ActionSpec]:
        plugin_path = prepared.run.meta.get("plugin_path")
        action = prepared.run.action or prepared.action_cls.action_name
        actor, where = self._pooled(plugin_path)
        if plugin_path:
            spec = ActionSpec(prepared.entrypoint or "", action, where)
        else:
            spec = ActionSpec(action_entrypoint(prepared.action_cls), action)
        return actor, spec

    def _pooled(self, plugin_path: str | None) -> tuple[Any, str | None]:
        """The least busy actor for ``plugin_path`` (a new one while the pool is not
        full), counted busy until :meth:`_release`; and where it finds the plugin."""
        key, env, where = self._placement(plugin_path)
        key = f"{self._pool_kind}:{key}"
        with self._lock:
            pool = self._pools.setdefault(key, [])
            if len(pool) < self.pool_size:
                pool.append(self._new_actor(env))
                self._busy[id(pool[-1])] = 0
            actor = min(pool, key=lambda a: self._busy[id(a)])
            self._busy[id(actor)] += 1
        return actor, where

    def _placement(self, plugin_path: str | None) -> tuple[str, Any, Any]:
        """(pool key, runtime_env, where the worker finds the plugin), cached per plugin
        definition so that a warm call does no file-system work."""
        now = time.monotonic()
        recent = self._recent_placement.get(plugin_path)
        if recent is not None and now - recent[0] < RECHECK_AFTER:
            return recent[1]  # a warm call: no file-system work at all
        definition = None
        if plugin_path:
            from hoist.plugins.discovery import load_plugin

            definition = load_plugin(plugin_path)  # cached; a new object when files change
        cache_key = (plugin_path, id(definition))
        cached = self._placements.get(cache_key)
        if cached is not None and cached[3] is definition:
            self._recent_placement[plugin_path] = (now, cached[:3])
            return cached[:3]
        self._connect()
        env = dict(self.runtime_env)
        where = None
        if plugin_path and definition is not None:
            ship = self.ship if self.ship is not None else not self._local_cluster()
            config = definition.config
            env = plugin_runtime_env_from_config(
                Path(plugin_path), config, extra=env, options=self.package, ship=ship
            )
            env = upload_working_dir(env)  # actors take URIs only (a shipped SDK too)
            where = "@working_dir" if ship else str(Path(plugin_path).resolve())
        key = hashlib.sha1(
            json.dumps([plugin_path, env, self._env], sort_keys=True, default=str).encode()
        ).hexdigest()
        self._placements[cache_key] = (key, env, where, definition)
        self._recent_placement[plugin_path] = (now, (key, env, where))
        return key, env, where

    def _actor_class(self) -> Any:
        """The Ray actor class this executor pools."""
        from hoist.executors.ray.actor import action_actor_class

        return action_actor_class()

    def _new_actor(self, env: dict[str, Any]) -> Any:
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus}
        if self.memory:
            options["memory"] = self.memory
        if env:
            options["runtime_env"] = env
        return self._actor_class().options(**options).remote(*self._actor_args())

    def _actor_args(self) -> tuple[Any, ...]:
        """What each new actor is constructed with."""
        settings = self.runtime.settings
        return settings.store_url, str(settings.home), {**self._server_secrets(), **self.secrets}

    @property
    def cluster_address(self) -> str | None:
        """The configured cluster address (``None``: a private local Ray)."""
        return self.address or self.runtime.settings.ray_address

    def _local_cluster(self) -> bool:
        return on_this_machine(self.cluster_address)

    def _release(self, actor: Any) -> None:
        with self._lock:
            if id(actor) in self._busy:
                self._busy[id(actor)] -= 1

    # ------------------------------------------------------------------ runs
    def _place(self, prepared: PreparedRun) -> tuple[Any, ActionSpec]:
        # The worker records the run (and all its events): one writer per run keeps the
        # hot path free of a second insert. If the worker dies first, _run records it.
        try:
            return self._actor(prepared)
        except HoistError as exc:  # no cluster, a package too large: the run says why
            self.sink.open_run(prepared.run)
            self.sink.flush()
            self.runtime.store.end_run(
                prepared.run.id, RunStatus.FAILED, type(exc).__name__, str(exc)
            )
            raise

    def _line(self, actor: Any) -> ActorLine:
        with self._lock:
            line = self._lines.get(id(actor))
            if line is None:
                line = self._lines[id(actor)] = ActorLine(actor, compiled=self.compiled)
            return line

    def _run(self, prepared: PreparedRun, actor: Any, spec: ActionSpec) -> Any:
        ray = self._connect()
        run = prepared.run
        payload = action_payload(
            spec, run, self._env, self.progress_interval, worker_params(prepared.params)
        )
        with self._lock:
            self._running[run.id] = actor
        try:
            tag, value = pickle.loads(
                self._line(actor).call(ray, payload, before=lambda: self._not_cancelled(run))
            )
            outcome = Outcome("succeeded", result=value) if tag == "ok" else value
        except Exception as exc:
            error = map_ray_error(exc, run.id)
            if error is None:
                raise
            self._drop(actor)
            self._record(run, error)
            raise error from exc
        finally:
            self._release(actor)
            self.sink.release(run.id)  # the worker recorded its end: stop heartbeating it
            with self._lock:
                self._running.pop(run.id, None)
                self._cancel_requested.discard(run.id)
        return outcome_result(prepared, outcome)

    def _not_cancelled(self, run: Any) -> None:
        """Give up a call whose run was cancelled while it waited for its actor."""
        with self._lock:
            cancelled = run.id in self._cancel_requested
        if cancelled:
            self.sink.open_run(run)
            self.sink.flush()
            self.runtime.store.end_run(
                run.id, RunStatus.CANCELLED, "RunCancelled", "cancelled before it started"
            )
            raise RunCancelledError(run.id)

    def _record(self, run: Any, error: HoistError) -> None:
        """End a run whose worker Ray gave up on (``error`` from ``map_ray_error``):
        ``lost``, ``failed`` (its runtime environment), ``cancelled``."""
        self.sink.open_run(run)  # no-op if the worker recorded it
        self.sink.flush()
        store = self.runtime.store
        if isinstance(error, RunLostError):
            store.mark_lost(run.id, error.error_message)
        elif isinstance(error, ActionFailedError):
            store.end_run(run.id, RunStatus.FAILED, error.error_type, error.error_message)
        else:
            store.end_run(run.id, RunStatus.CANCELLED, "RunCancelled", "cancelled")

    def _execute(self, prepared: PreparedRun) -> Any:
        actor, spec = self._place(prepared)
        return self._run(prepared, actor, spec)

    def _submit(self, prepared: PreparedRun) -> RunHandle:
        # A submitted run is readable (queued) at once, by any process: the driver records
        # it too (an upsert that never overwrites what the worker wrote first).
        self.sink.open_run(prepared.run)
        actor, spec = self._place(prepared)
        future: Future[Any] = Future()

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self._run(prepared, actor, spec))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, name=f"hoist-ray-{prepared.run.id}", daemon=True).start()
        return RunHandle(
            prepared.run.id, self.log, future=future,
            canceller=lambda: self.cancel(prepared.run.id), flush=self.sink.flush,
            initial=prepared.run,
        )  # fmt: skip

    def run_node(self, node: Any, prepared: PreparedRun, ctx: Any) -> Any:
        """A pipeline node's action runs in this executor's warm actors, like any run."""
        return self._run_on_workers(prepared, ctx)

    def cancel(self, run_id: str) -> None:
        """Stop a run: at its next cancellation point if running (the worker reads the
        request from the store), before it starts if it still waits for its actor."""
        with self._lock:
            self._cancel_requested.add(run_id)
        self.runtime.store.request_cancel(run_id)

    def _drop(self, actor: Any) -> None:
        with self._lock:
            for pool in self._pools.values():
                if actor in pool:
                    pool.remove(actor)
            self._busy.pop(id(actor), None)
            line = self._lines.pop(id(actor), None)
        if line is not None:
            line.close()

    def actors(self) -> list[Any]:
        """Every live actor of this executor."""
        with self._lock:
            return [a for pool in self._pools.values() for a in pool]

    def shutdown(self) -> None:
        """Flush and end this executor's actors."""
        self._end_actors()

    def _end_actors(self) -> None:
        """End this executor's compiled graphs and actors (run before this process leaves
        its cluster; when it already has, they ended with the cluster: only forgotten)."""
        with self._lock:
            lines = list(self._lines.values())
            actors = [a for pool in self._pools.values() for a in pool]
            self._lines.clear()
            self._pools.clear()
            self._busy.clear()
        ray = self._ray
        if ray is None or not ray.is_initialized():
            return
        for line in lines:
            line.close()
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.get(actor.shutdown.remote(), timeout=10)
            with contextlib.suppress(Exception):
                ray.kill(actor)


def outcome_result(prepared: PreparedRun, outcome: Outcome) -> Any:
    """The typed result of a worker's outcome, or the matching Hoist error."""
    run_id = prepared.run.id
    if outcome.status == "succeeded":
        model = prepared.action_cls.result_model
        return outcome.result if model is None else model.model_validate(outcome.result)
    if outcome.status == "cancelled":
        raise RunCancelledError(run_id)
    if outcome.error_type == "ResultValidationError" and outcome.field_errors:
        raise ResultValidationError(run_id, outcome.field_errors)
    error = ActionFailedError(run_id, outcome.error_type, outcome.message, outcome.traceback)
    raise error from outcome.unpickled_exception(prepared.run.meta.get("plugin_path"))


def action_entrypoint(action_cls: Any) -> str:
    """``module:qualname`` of an importable action class or ``@action`` function."""
    function = getattr(action_cls, "function", None)
    target = function if function is not None else action_cls
    return f"{target.__module__}:{target.__qualname__}"
