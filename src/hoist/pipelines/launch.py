"""Start a pipeline run: check the first actions' params, record the run, resume from an
earlier one, and hand the work to the :class:`~hoist.pipelines.engine.PipelineEngine`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from hoist.errors import HoistError, ParamsValidationError
from hoist.executors.base import Executor
from hoist.executors.handle import RunHandle
from hoist.executors.local import LocalExecutor
from hoist.pipelines.context import PipelineContext
from hoist.pipelines.engine import PipelineEngine, fit_params
from hoist.pipelines.pipeline import ActionPipeline
from hoist.pipelines.resume import Checkpoint, ResumeState, load_resume_state
from hoist.plugins.context import RuntimeContext
from hoist.plugins.invoke import jsonable
from hoist.runs.models import Run, RunKind, RunStatus, StatusEvent, new_run_id
from hoist.runs.reader import RunFilter

__all__ = ["check_first_params", "pipeline_handle", "start_pipeline"]

_log = logging.getLogger("hoist.pipelines")


def start_pipeline(
    pipeline: ActionPipeline,
    params: Mapping[str, Any] | None,
    *,
    executor: Executor | None = None,
    parent_ctx: RuntimeContext | None = None,
    resume_from: str | None = None,
    allow_param_changes: bool = False,
    force: bool = False,
    background: bool = True,
) -> RunHandle:
    """Validate, record the pipeline run and start it; returns its handle.

    Raises:
        ParamsValidationError: the first actions' params are incomplete (nothing runs).
        ResumeError: ``resume_from`` cannot be resumed.
    """
    executor = executor or LocalExecutor()
    if not isinstance(executor, LocalExecutor):
        submit = getattr(executor, "submit_pipeline", None)
        if submit is None:
            raise HoistError(f"{type(executor).__name__} cannot run pipelines")
        handle: RunHandle = submit(
            pipeline, params, resume_from=resume_from, allow_param_changes=allow_param_changes,
            force=force,
        )  # fmt: skip
        return handle
    state: ResumeState | None = None
    if resume_from is not None:
        state = load_resume_state(
            executor.log, resume_from, params, allow_param_changes=allow_param_changes,
            force=force,
        )  # fmt: skip
        if state.already_succeeded:
            _log.info("run %s already succeeded; nothing to resume", state.run_id)
            return RunHandle.attach(state.run_id, executor.log)
        params = state.params
        _mark_lost(executor, state.run_id)
    initial = dict(params or {})
    restored = state.checkpoints if state else {}
    check_first_params(pipeline, initial, restored)

    run = Run(
        id=new_run_id(),
        kind=RunKind.PIPELINE,
        parent_id=parent_ctx.run_id if parent_ctx else None,
        plugin=pipeline.plugin,
        action=pipeline.name,
        mode=executor.mode,
        params=jsonable(initial),
        meta={**pipeline.describe(), "resume_of": state.run_id if state else None},
    )
    working_dir = Path(state.working_dir) if state and state.working_dir else None
    working_dir = working_dir or executor.runs_dir / run.id / "work"
    run.meta["working_dir"] = str(working_dir)
    sink = executor.sink
    sink.open_run(run)
    ctx = RuntimeContext(
        run.id, sink, env=executor.env, job_id=executor.job_id, action_name=pipeline.name,
        runs_dir=executor.runs_dir, progress_interval=0, parent=parent_ctx,
    )  # fmt: skip
    engine = PipelineEngine(pipeline, executor, ctx, PipelineContext(run.id, working_dir))
    future: Future[Any] = Future()

    def drive() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(engine.run(initial, restored))
        except BaseException as exc:
            future.set_exception(exc)

    if background:
        sink.flush()  # the id we return can be looked up at once, from any process
        threading.Thread(target=drive, name=f"hoist-pipeline-{run.id}", daemon=True).start()
    else:
        drive()
    return RunHandle(run.id, executor.log, future=future, canceller=ctx.cancel, flush=sink.flush)


def _mark_lost(executor: LocalExecutor, run_id: str) -> None:
    """End a dead run (and its children) as ``lost`` before resuming it."""
    log = executor.log
    tree = [log.get_run(run_id), *log.list_runs(RunFilter(parent_id=run_id, limit=100_000))]
    for run in tree:
        if run.status.is_terminal:
            continue
        last = log.events(run.id)[-1].seq if run.status is not RunStatus.QUEUED else 0
        executor.sink.emit(
            StatusEvent(run_id=run.id, seq=last + 1, ts=time.time(), status=RunStatus.LOST)
        )
    executor.sink.flush()


def pipeline_handle(run_id: str, executor: Executor | None = None) -> RunHandle:
    """A handle to a pipeline run (one started in this process keeps its live result)."""
    executor = executor or LocalExecutor()
    executor.sink.flush()
    return RunHandle.attach(run_id, executor.log)


def check_first_params(
    pipeline: ActionPipeline, initial: dict[str, Any], restored: Mapping[str, Checkpoint]
) -> None:
    """Validate the params of the nodes that start the pipeline (every failing field,
    named ``node.field``), so that bad input fails before anything runs.

    Raises:
        ParamsValidationError: some first node's params are invalid.
    """
    errors: dict[str, list[str]] = {}
    for root in pipeline.roots:
        if root.key in restored or root.map_over is not None:
            continue
        try:
            root.action.validate_params(fit_params({**initial, **root.params}, root.action))
        except ParamsValidationError as exc:
            for field, messages in exc.field_errors.items():
                errors[f"{root.key}.{field}"] = messages
    if errors:
        raise ParamsValidationError(errors)
