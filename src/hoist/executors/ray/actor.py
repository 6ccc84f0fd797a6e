"""The warm Ray actor that runs actions (task mode and remote pipelines)."""

from __future__ import annotations

import os
import pickle
from typing import Any

from hoist.executors.ray.connect import import_ray
from hoist.executors.ray.worker import ActionSpec, WorkerRuntime
from hoist.runs.models import Run

__all__ = ["action_actor_class", "action_payload", "run_payload"]

_actor_class: Any = None


def action_payload(
    spec: ActionSpec,
    run: Run,
    env: dict[str, Any],
    progress_interval: float,
    params: dict[str, Any] | None = None,
) -> bytes:
    """One call's arguments as a compact pickled tuple (see :func:`run_payload`).

    ``params``: what the action gets (default: the run's recorded params, where secrets
    are masked); pass :func:`~hoist.plugins.invoke.worker_params` so that secret values
    reach it. The run is still recorded with its masked params.
    """
    return pickle.dumps(
        (spec.entrypoint, spec.action, spec.plugin_path, run.id, run.kind, run.parent_id,
         run.plugin, run.action, run.mode, run.params, run.meta, run.created_at, env,
         progress_interval, params),
        protocol=pickle.HIGHEST_PROTOCOL,
    )  # fmt: skip


def run_payload(worker: WorkerRuntime, payload: bytes) -> bytes:
    """Run the action an :func:`action_payload` describes; returns the pickled
    ``("ok", result)`` or ``("outcome", Outcome)`` (never raises for the action's own
    failures)."""
    (entrypoint, action, plugin_path, run_id, kind, parent_id, plugin, name, mode, params,
     meta, created_at, env, progress_interval, revealed) = pickle.loads(payload)  # fmt: skip
    if plugin_path == "@working_dir":
        plugin_path = os.getcwd()
    run = Run(id=run_id, kind=kind, parent_id=parent_id, plugin=plugin, action=name,
              mode=mode, params=params, meta=meta, created_at=created_at)  # fmt: skip
    outcome = worker.run(ActionSpec(entrypoint, action, plugin_path), run,
                         params if revealed is None else revealed, env,
                         progress_interval)  # fmt: skip
    if outcome.status == "succeeded":  # the common case travels as a bare tuple
        return pickle.dumps(("ok", outcome.result), protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.dumps(("outcome", outcome), protocol=pickle.HIGHEST_PROTOCOL)


class ActionActor:
    """Holds a worker runtime (store connection, loaded plugins) across calls."""

    def __init__(self, store_url: str, home: str, secrets: dict[str, str] | None = None) -> None:
        os.environ.update(secrets or {})
        self.worker = WorkerRuntime(store_url, home)

    def run(self, payload: bytes) -> bytes:
        """Run one action here; never raises for the action's own failures.

        Arguments and outcome travel as one pickled blob each: Ray then moves plain
        bytes, which costs almost nothing next to serializing several objects.
        """
        return run_payload(self.worker, payload)

    def pid(self) -> int:
        """The worker process id (answered between runs)."""
        return os.getpid()

    def shutdown(self) -> None:
        """Flush the worker's events."""
        self.worker.runtime.close()


def action_actor_class() -> Any:
    """:class:`ActionActor` as a plain Ray actor: one call at a time, in the actor's main
    thread (a concurrency group would put every call through a thread hand-off, about
    8% of a warm call). Cancellation reaches a running action through the run store."""
    global _actor_class
    if _actor_class is None:
        _actor_class = import_ray().remote(ActionActor)
    return _actor_class
