"""``RayPipelineExecutor``: whole pipelines in a warm Ray actor.

The actor runs the same engine as a local pipeline run, so checkpoints land in the run
log after each action and ``resume_from`` works from any process. Nodes that declare
``resources`` run as Ray tasks asking for them, so independent DAG branches spread over
the cluster in parallel. Progress is read from the run log by any process
(:meth:`~RayPipelineExecutor.get_progress`, :meth:`~RayPipelineExecutor.stream_progress`,
``hoist runs show``).

With ``pipeline_service_url`` the runs are reported to a Hoist server instead of a
database: the actor posts its events there (``actor_pipeline_service_url``, when the
cluster reaches the server by another address) and this process reads them back there.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from hoist.errors import ActionFailedError, RunCancelledError, RunLostError, UserInputError
from hoist.executors.base import PipelineLike
from hoist.executors.handle import RunHandle
from hoist.executors.ray.connect import map_ray_error
from hoist.executors.ray.packaging import PackageOptions
from hoist.executors.ray.task import RayActorExecutor
from hoist.pipelines.launch import check_first_params, end_run_tree
from hoist.pipelines.pipeline import ActionPipeline
from hoist.pipelines.progress import (
    PipelineProgress,
    pipeline_progress,
    stream_progress,
    stream_progress_async,
)
from hoist.plugins.context import RuntimeContext
from hoist.runs.http_log import HttpRunLog
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import Runtime, get_runtime

__all__ = ["RayPipelineExecutor"]

RunRef = str | RunHandle
"""A run's id, or its handle."""


class RayPipelineExecutor(RayActorExecutor):
    """Run pipelines on a Ray cluster, each driven by a warm actor.

    Args:
        ray_address: the cluster (``'auto'``: the one ``RAY_ADDRESS`` or this machine's
            running Ray names); same as ``address``.
        working_dir: the plugin folder; shipped to the cluster (when it is not on this
            machine) and importable by the actor, so the pipeline's actions may be plain
            imports from it.
        pipeline_service_url: a Hoist server the runs are reported to (and read back
            from) instead of a database; needs a worker token of an operator
            (``token``, else ``HOIST_TOKEN``; ``hoist tokens create NAME --worker``):
            the actors post the runs with it, and this process reads them back and
            ends them with it, as the only one allowed to.
        actor_pipeline_service_url: the server's address as the cluster reaches it
            (default: ``pipeline_service_url``).
        include_sdk: ship this Hoist package to the cluster too (workers use it instead
            of an installed one).
        token: the API token for ``pipeline_service_url``.
        **kwargs: see :class:`~hoist.executors.ray.task.RayActorExecutor`; the actors it
            pools run many pipelines at once, each on its own thread.

    Example::

        executor = RayPipelineExecutor(ray_address="auto", working_dir="plugins/train")
        run_id = pipeline.submit({"dataset": "s3://..."}, executor)
        for progress in executor.stream_progress(run_id):
            print(progress.overall)
        result = pipeline.wait(run_id, executor)
    """

    _pool_kind = "pipeline"

    def __init__(
        self,
        *,
        ray_address: str | None = None,
        working_dir: str | Path | None = None,
        pipeline_service_url: str | None = None,
        actor_pipeline_service_url: str | None = None,
        include_sdk: bool = False,
        token: str | None = None,
        **kwargs: Any,
    ) -> None:
        if ray_address is not None:
            kwargs.setdefault("address", ray_address)
        if include_sdk:
            kwargs["package"] = replace(kwargs.get("package") or PackageOptions(),
                                        include_hoist=True)  # fmt: skip
        self._own_runtime: Runtime | None = None
        if pipeline_service_url is not None:
            kwargs["runtime"] = self._own_runtime = _service_runtime(
                kwargs.get("runtime"), pipeline_service_url, token
            )
        super().__init__(working_dir=working_dir, **kwargs)
        self.pipeline_service_url = pipeline_service_url
        self.actor_pipeline_service_url = actor_pipeline_service_url or pipeline_service_url
        self._pipelines: dict[str, Any] = {}

    def _actor_class(self) -> Any:
        from hoist.pipelines.ray.actor import pipeline_actor_class

        return pipeline_actor_class()

    def _actor_args(self) -> tuple[Any, ...]:
        token = self.runtime.token if self.actor_pipeline_service_url else None
        return (*super()._actor_args(), self.actor_pipeline_service_url, token)

    # ------------------------------------------------------------------ submitting
    def submit(  # type: ignore[override]
        self,
        target: Any,
        params: Any = None,
        **options: Any,
    ) -> RunHandle:
        """Start a pipeline (or an action) on the cluster; returns its handle at once.

        Args:
            target: an :class:`~hoist.pipelines.pipeline.ActionPipeline`, or an action.
            params: the initial params.
            **options: for a pipeline ``resume_from``, ``allow_param_changes``, ``force``;
                for an action, see :meth:`Executor.submit`.

        Raises:
            ParamsValidationError: the first actions' params are invalid (nothing runs).
            ResumeError: ``resume_from`` cannot be resumed.
        """
        if isinstance(target, ActionPipeline):
            return self.submit_pipeline(target, params, **options)
        return super().submit(target, params, **options)

    def submit_pipeline(
        self,
        pipeline: PipelineLike,
        params: Mapping[str, Any] | None = None,
        *,
        resume_from: str | None = None,
        allow_param_changes: bool = False,
        force: bool = False,
        parent: RuntimeContext | None = None,
        background: bool = True,
    ) -> RunHandle:
        """Start ``pipeline`` in a warm actor; see :meth:`submit`. The actor records the
        run (a ``parent`` context of this process is not carried there)."""
        if resume_from is None and isinstance(pipeline, ActionPipeline):
            check_first_params(pipeline, dict(params or {}), {})  # fail here, not remotely
        described = pipeline.describe()
        folder = str(self.working_dir.resolve()) if self.working_dir else None
        plugin_path: str | None = (
            folder
            or described.get("plugin_path")
            or next((n["plugin_path"] for n in described["nodes"] if n.get("plugin_path")), None)
        )
        actor, where = self._pooled(plugin_path)
        if plugin_path and where == "@working_dir":  # shipped: the actor finds it in its cwd
            _relocate(described, plugin_path, where)
        if folder and where:  # the folder's plain modules import on the actor
            described["sys_path"] = where
        initial = None if params is None else dict(params)
        payload = pickle.dumps((described, pipeline.plugin, pipeline.name, initial,
                                str(resume_from) if resume_from else None,
                                allow_param_changes, force, dict(self.env)))  # fmt: skip
        ray = self._connect()
        try:
            tag, value = pickle.loads(ray.get(actor.start.remote(payload)))
        except BaseException:
            self._release(actor)
            raise
        if tag == "error":
            self._release(actor)
            raise value
        run_id: str = value
        with self._lock:
            self._pipelines[run_id] = actor
        future: Future[Any] = Future()

        def wait() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self._finish_pipeline(run_id, actor))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=wait, name=f"hoist-ray-pipeline-{run_id}", daemon=True).start()
        return RunHandle(run_id, self.log, future=future, canceller=lambda: self.cancel(run_id))

    def _finish_pipeline(self, run_id: str, actor: Any) -> Any:
        ray = self._connect()
        try:
            tag, value = pickle.loads(ray.get(actor.wait.remote(run_id)))
        except Exception as exc:
            error = map_ray_error(exc, run_id, worker="the Ray actor running the pipeline")
            if error is None:
                raise
            self._drop(actor)
            if isinstance(error, RunLostError):  # resumable: its checkpoints are kept
                end_run_tree(self, run_id, error.error_message)
            raise error from exc
        finally:
            self._release(actor)
            with self._lock:
                self._pipelines.pop(run_id, None)
        if tag == "ok":
            return value
        if tag == "cancelled":
            raise RunCancelledError(run_id)
        error_type, message, traceback = value
        raise ActionFailedError(run_id, error_type, message, traceback)

    def shutdown(self) -> None:
        """End this executor's actors; close what it opened to the pipeline service."""
        super().shutdown()
        log = self._log
        if isinstance(log, HttpRunLog):
            self._log = None
            log.close()
        if self._own_runtime is not None:
            self._own_runtime.close()

    # ------------------------------------------------------------------ following
    def cancel(self, run_id: RunRef) -> None:
        """Cancel a pipeline run (every running node stops at its next cancellation
        point) or an action run."""
        run_id = _id(run_id)
        with self._lock:
            actor = self._pipelines.get(run_id)
            self._cancel_requested.add(run_id)
        self.log.request_cancel(run_id)
        if actor is not None:
            self._connect().get(actor.cancel.remote(run_id))

    def get_status(self, run_id: RunRef) -> RunStatus:
        """The run's current status."""
        return self.log.get_run(_id(run_id)).status

    def get_progress(self, run_id: RunRef) -> PipelineProgress:
        """The pipeline run's progress: overall, per action and per step."""
        return pipeline_progress(self.log, _id(run_id))

    def stream_progress(self, run_id: RunRef, **options: Any) -> Iterator[PipelineProgress]:
        """Progress snapshots as the run advances, ending with its final state."""
        return stream_progress(self.log, _id(run_id), **options)

    def stream_progress_async(
        self, run_id: RunRef, **options: Any
    ) -> AsyncIterator[PipelineProgress]:
        """:meth:`stream_progress` for ``async for``."""
        return stream_progress_async(self.log, _id(run_id), **options)

    def wait(self, run_id: RunRef, timeout: float | None = None) -> Run:
        """Block until the run ends; returns its final record.

        Raises:
            TimeoutError: still running after ``timeout`` seconds.
        """
        return RunHandle.attach(_id(run_id), self.log).wait(timeout)


def _id(run: RunRef) -> str:
    return run.run_id if isinstance(run, RunHandle) else str(run)


def _relocate(described: dict[str, Any], plugin_path: str, where: str) -> None:
    """Point the description's references to the shipped plugin folder at ``where``."""
    shipped = Path(plugin_path).resolve()
    for item in [described, *described["nodes"]]:
        if item.get("plugin_path") and Path(item["plugin_path"]).resolve() == shipped:
            item["plugin_path"] = where


def _service_runtime(runtime: Runtime | None, url: str, token: str | None) -> Runtime:
    """A runtime whose runs go to (and are read from) the Hoist server at ``url``."""
    base = runtime or get_runtime()
    token = token or base.token or base.settings.token
    if not token:
        raise UserInputError(
            f"pipeline_service_url={url!r} needs an API token of that server: pass "
            "token=... or set HOIST_TOKEN (a worker token: hoist tokens create NAME --worker)"
        )
    return Runtime(base.settings.with_(server_url=url, database_url=None), token=token)
