"""``RayPipelineExecutor``: whole pipelines in a warm Ray actor.

The actor runs the same engine as a local pipeline run, so checkpoints land in the run
store after each action and ``resume_from`` works from any process. Nodes that declare
``resources`` run as Ray tasks asking for them, so independent DAG branches spread over
the cluster in parallel. Progress is read from the store by any process
(:meth:`get_progress`, :meth:`stream_progress`, ``hoist runs show``).
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from hoist.errors import ActionFailedError, RunCancelledError, RunLostError
from hoist.executors.handle import RunHandle
from hoist.executors.ray.task import RayActorExecutor
from hoist.runs.models import Run, RunStatus
from hoist.runs.reader import RunFilter

if TYPE_CHECKING:
    from hoist.pipelines.pipeline import ActionPipeline
    from hoist.pipelines.progress import PipelineProgress

__all__ = ["RayPipelineExecutor"]


class RayPipelineExecutor(RayActorExecutor):
    """Run pipelines (and single actions) on a Ray cluster.

    Takes the arguments of :class:`~hoist.executors.ray.task.RayActorExecutor`; the
    actors it pools for pipelines run many pipelines at once, each on its own thread.

    Example::

        executor = RayPipelineExecutor(address="127.0.0.1:6380")
        handle = executor.submit(pipeline, {"dataset": "s3://..."})
        for progress in executor.stream_progress(handle.run_id):
            print(progress.overall)
        result = handle.result()
    """

    _pool_kind = "pipeline"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pipelines: dict[str, Any] = {}

    def _actor_class(self) -> Any:
        from hoist.executors.ray.pipeline_actor import pipeline_actor_class

        return pipeline_actor_class()

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
        from hoist.pipelines.pipeline import ActionPipeline

        if isinstance(target, ActionPipeline):
            return self.submit_pipeline(target, params, **options)
        return super().submit(target, params, **options)

    def submit_pipeline(
        self,
        pipeline: ActionPipeline,
        params: Mapping[str, Any] | None = None,
        *,
        resume_from: str | None = None,
        allow_param_changes: bool = False,
        force: bool = False,
    ) -> RunHandle:
        """Start ``pipeline`` in a warm actor; see :meth:`submit`."""
        from hoist.pipelines.launch import check_first_params

        if resume_from is None:
            check_first_params(pipeline, dict(params or {}), {})  # fail here, not remotely
        plugin_path = pipeline.meta.get("plugin_path") or _first_plugin_path(pipeline)
        actor, where = self._pooled(plugin_path)
        described = pipeline.describe()
        if where == "@working_dir":  # shipped: the actor finds the plugin in its cwd
            for node in described["nodes"]:
                if node.get("plugin_path") == plugin_path:
                    node["plugin_path"] = where
            if described.get("plugin_path") == plugin_path:
                described["plugin_path"] = where
        initial = None if params is None else dict(params)
        payload = pickle.dumps((described, pipeline.plugin, pipeline.name, initial, resume_from,
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
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as exc:  # fmt: skip
            self._drop(actor)
            reason = f"the Ray actor running the pipeline died ({type(exc).__name__})"
            self._mark_tree_lost(run_id, reason)
            raise RunLostError(run_id, reason) from None
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

    def _mark_tree_lost(self, run_id: str, reason: str) -> None:
        """The pipeline run and its unfinished children end ``lost`` (resumable)."""
        store = self.runtime.store
        for child in store.list_runs(RunFilter(parent_id=run_id, limit=100_000)):
            if not child.status.is_terminal:
                store.mark_lost(child.id, reason)
        store.mark_lost(run_id, reason)

    # ------------------------------------------------------------------ following
    def cancel(self, run_id: str) -> None:
        """Cancel a pipeline run (every running node stops at its next cancellation
        point) or an action run."""
        with self._lock:
            actor = self._pipelines.get(run_id)
        if actor is None:
            super().cancel(run_id)
            return
        self.runtime.store.request_cancel(run_id)
        self._connect().get(actor.cancel.remote(run_id))

    def get_status(self, run_id: str) -> RunStatus:
        """The run's current status."""
        return self.runtime.store.get_run(run_id).status

    def get_progress(self, run_id: str) -> PipelineProgress:
        """The pipeline run's progress: overall, per action and per step."""
        from hoist.pipelines.progress import pipeline_progress

        return pipeline_progress(self.runtime.store, run_id)

    def stream_progress(self, run_id: str, **options: Any) -> Iterator[PipelineProgress]:
        """Progress snapshots as the run advances, ending with its final state."""
        from hoist.pipelines.progress import stream_progress

        return stream_progress(self.runtime.store, run_id, **options)

    def stream_progress_async(self, run_id: str, **options: Any) -> AsyncIterator[PipelineProgress]:
        """:meth:`stream_progress` for ``async for``."""
        from hoist.pipelines.progress import stream_progress_async

        return stream_progress_async(self.runtime.store, run_id, **options)

    def wait(self, run_id: str, timeout: float | None = None) -> Run:
        """Block until the run ends; returns its final record.

        Raises:
            TimeoutError: still running after ``timeout`` seconds.
        """
        return RunHandle.attach(run_id, self.runtime.store).wait(timeout)


def _first_plugin_path(pipeline: ActionPipeline) -> str | None:
    return next((n.plugin_path for n in pipeline.nodes if n.plugin_path), None)
