"""What runs on the cluster for a remote pipeline: a warm actor that drives whole
pipelines (the same engine as a local run, so checkpoints, retries and resume behave
the same), and the Ray task that runs a node declaring ``resources`` on a worker with
those resources, in parallel with other branches."""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hoist.errors import ActionFailedError, HoistError, RunCancelledError
from hoist.executors.base import PreparedRun
from hoist.executors.handle import RunHandle
from hoist.executors.local import LocalExecutor
from hoist.executors.ray.actor import action_payload, run_payload
from hoist.executors.ray.connect import import_ray, map_ray_error
from hoist.executors.ray.worker import ActionSpec, Outcome, WorkerRuntime
from hoist.pipelines.launch import end_run_tree, start_pipeline
from hoist.pipelines.rebuild import pipeline_from_run
from hoist.plugins.context import RuntimeContext
from hoist.plugins.invoke import jsonable, worker_params
from hoist.runs.http_log import HttpRunLog
from hoist.runs.models import Run, RunKind, RunStatus
from hoist.runs.runtime import Runtime
from hoist.settings import Settings

__all__ = ["ClusterNodeExecutor", "PipelineActor", "pipeline_actor_class"]

_workers: dict[tuple[str, str], WorkerRuntime] = {}
_workers_lock = threading.Lock()
STOP_GRACE = 10.0
"""Seconds a cancelled node task gets to stop by itself before Ray cancels it."""


def _run_node_task(store_url: str, home: str, payload: bytes) -> bytes:
    """Body of the Ray task for one node (one worker runtime per process, reused)."""
    with _workers_lock:
        worker = _workers.get((store_url, home))
        if worker is None:
            worker = _workers[(store_url, home)] = WorkerRuntime(store_url, home)
    try:
        return run_payload(worker, payload)
    finally:
        worker.runtime.sink.flush()  # the node's events are durable before it returns


class ClusterNodeExecutor(LocalExecutor):
    """The pipeline engine's executor inside the actor: nodes run in the actor's threads,
    except nodes that declare ``resources``, which run as Ray tasks asking for them."""

    mode = "task"

    def __init__(self, *, store_url: str, home: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store_url, self.home = store_url, home
        self._task: Any = None

    def run_node(self, node: Any, prepared: PreparedRun, ctx: RuntimeContext) -> Any:
        wanted = node.resources.to_dict()
        if not wanted:
            return super().run_node(node, prepared, ctx)
        ray = import_ray()
        if self._task is None:
            self._task = ray.remote(_run_node_task)
        options = {"num_cpus": wanted.get("cpu", 1), "num_gpus": wanted.get("gpu", 0),
                   "max_retries": 0}  # fmt: skip
        if "memory" in wanted:
            options["memory"] = wanted["memory"]
        spec = ActionSpec(node.entrypoint, prepared.action_cls.action_name, node.plugin_path)
        # The run's record carries the node's pipeline context for the worker (plain data).
        payload = action_payload(
            spec, prepared.run, dict(self.env), self.progress_interval,
            worker_params(prepared.params),
        )  # fmt: skip
        ref = self._task.options(**options).remote(self.store_url, self.home, payload)
        return self._wait_node(ray, ref, prepared.run, ctx)

    def _wait_node(self, ray: Any, ref: Any, run: Run, ctx: RuntimeContext) -> Any:
        cancelled_at: float | None = None
        while not ray.wait([ref], timeout=0.2)[0]:
            if ctx.is_cancelled() and cancelled_at is None:
                cancelled_at = time.monotonic()
                self.cancel(run.id)  # the task's context polls the run log
            elif cancelled_at is not None and time.monotonic() - cancelled_at > STOP_GRACE:
                ray.cancel(ref, force=True)
        try:
            tag, value = pickle.loads(ray.get(ref))
        except Exception as exc:
            error = map_ray_error(exc, run.id, worker="the Ray task running it",
                                  cancelled=cancelled_at is not None)  # fmt: skip
            if error is None:
                raise
            status = RunStatus.CANCELLED if isinstance(error, RunCancelledError) else None
            end_run_tree(self, run.id, str(error), status or RunStatus.LOST)
            raise error from exc
        if tag == "ok":
            return value
        outcome: Outcome = value
        if outcome.status == "cancelled":
            raise RunCancelledError(run.id)
        error = ActionFailedError(run.id, outcome.error_type, outcome.message, outcome.traceback)
        raise error from outcome.unpickled_exception(run.meta.get("plugin_path"))


class PipelineActor:
    """Drives pipelines started by a :class:`~hoist.pipelines.ray.RayPipelineExecutor`
    (several at once: each on its own thread).

    Args:
        store_url, home: the run store and Hoist home of the driver.
        secrets: environment variables set in this process.
        server_url, token: a Hoist server to report runs to instead of the store.
    """

    def __init__(
        self,
        store_url: str,
        home: str,
        secrets: dict[str, str] | None = None,
        server_url: str | None = None,
        token: str | None = None,
    ) -> None:
        os.environ.update(secrets or {})
        self.store_url, self.home = store_url, home
        if server_url:
            settings = Settings(home=Path(home), server_url=server_url)
            self.runtime = Runtime(settings, token=token)
        else:
            self.runtime = Runtime(Settings(home=Path(home), database_url=store_url))
        self.handles: dict[str, Any] = {}
        self.log = self._executor().log

    def _executor(self, env: dict[str, Any] | None = None) -> ClusterNodeExecutor:
        return ClusterNodeExecutor(
            store_url=self.store_url, home=self.home, runtime=self.runtime, env=env,
            log=getattr(self, "log", None),
        )  # fmt: skip

    def start(self, payload: bytes) -> bytes:
        """Record and start a pipeline run; returns the pickled ``("ok", run_id)`` or
        ``("error", HoistError)`` (bad params, a run that cannot be resumed)."""
        described, plugin, name, params, resume_from, allow_changes, force, env = pickle.loads(
            payload
        )
        _localize(described)
        try:
            record = Run(id="", kind=RunKind.PIPELINE, plugin=plugin, action=name, meta=described)
            pipeline = pipeline_from_run(record, _load_plugin_action)
            executor = self._executor(env)
            handle = start_pipeline(
                pipeline, params, executor=executor, resume_from=resume_from,
                allow_param_changes=allow_changes, force=force,
            )  # fmt: skip
        except HoistError as exc:
            return pickle.dumps(("error", exc))
        self.handles[handle.run_id] = handle
        return pickle.dumps(("ok", handle.run_id))

    def wait(self, run_id: str) -> bytes:
        """Block until the pipeline run ends; its pickled ``("ok", result)``, or
        ``("cancelled", None)`` / ``("failed", (type, message, traceback))``."""
        handle = self.handles.get(run_id)
        if handle is None:  # already finished (a resume of a succeeded run)
            handle = RunHandle.attach(run_id, self.log)
        try:
            result = handle.result()
        except RunCancelledError:
            return pickle.dumps(("cancelled", None))
        except ActionFailedError as exc:
            return pickle.dumps(("failed", (exc.error_type, exc.error_message, exc.traceback)))
        finally:
            self.handles.pop(run_id, None)
        return pickle.dumps(("ok", jsonable(result)))

    def cancel(self, run_id: str) -> bool:
        """Cancel a pipeline running here; False if it is not here."""
        handle = self.handles.get(run_id)
        if handle is None:
            return False
        handle.cancel()
        return True

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()

    def shutdown(self) -> None:
        """Flush every event."""
        self.runtime.close()
        if isinstance(self.log, HttpRunLog):
            self.log.close()


def _localize(described: dict[str, Any]) -> None:
    """Resolve ``@working_dir`` (the folder shipped as this actor's cwd) in a pipeline's
    description, and put the plugin folder on ``sys.path`` when it was asked for."""
    here = os.getcwd()
    for item in [described, *described.get("nodes", [])]:
        if item.get("plugin_path") == "@working_dir":
            item["plugin_path"] = here
    folder = described.pop("sys_path", None)
    if folder:
        folder = here if folder == "@working_dir" else folder
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _load_plugin_action(plugin_path: str, action: str) -> Any:
    from hoist.plugins.discovery import load_plugin

    return load_plugin(plugin_path).load_action(action)


_actor_class: Any = None


def pipeline_actor_class() -> Any:
    """:class:`PipelineActor` as a threaded Ray actor (pipelines run side by side)."""
    global _actor_class
    if _actor_class is None:
        _actor_class = import_ray().remote(max_concurrency=64)(PipelineActor)
    return _actor_class
