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

from hoist.errors import ParamsValidationError
from hoist.executors.base import Executor, PipelineOptions
from hoist.executors.handle import RunHandle
from hoist.executors.modes import DEFAULT_MODE, executor_class
from hoist.pipelines.engine import PipelineEngine, fit_params
from hoist.pipelines.pipeline import ActionPipeline
from hoist.pipelines.resume import SECRET_PARAMS, Checkpoint, ResumeState, load_resume_state
from hoist.plugins.context import RuntimeContext
from hoist.plugins.invoke import SECRET_MASK, jsonable, secret_fields
from hoist.plugins.pipeline_context import PipelineContext
from hoist.runs.models import ErrorEvent, Run, RunKind, RunStatus, StatusEvent, new_run_id
from hoist.runs.reader import RunFilter

__all__ = ["check_first_params", "end_run_tree", "pipeline_handle", "run_here", "start_pipeline"]

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
    """Start ``pipeline`` on ``executor`` (default: a new executor of the default mode,
    :data:`~hoist.executors.modes.DEFAULT_MODE`) through the executor contract
    (:meth:`~hoist.executors.base.Executor.submit_pipeline`).

    Raises:
        ParamsValidationError: the first actions' params are incomplete (nothing runs).
        ResumeError: ``resume_from`` cannot be resumed.
    """
    executor = executor or executor_class(DEFAULT_MODE)()
    return executor.submit_pipeline(
        pipeline, params, resume_from=resume_from, allow_param_changes=allow_param_changes,
        force=force, parent=parent_ctx, background=background,
    )  # fmt: skip


def run_here(
    pipeline: ActionPipeline,
    executor: Executor,
    params: Mapping[str, Any] | None,
    options: PipelineOptions,
) -> RunHandle:
    """Validate, record the pipeline run and drive it in this process; each node's action
    runs through ``executor.run_node``. Returns the run's handle.

    Raises:
        ParamsValidationError: the first actions' params are incomplete (nothing runs).
        ResumeError: ``options.resume_from`` cannot be resumed.
    """
    resume_from, parent_ctx = options.resume_from, options.parent
    state: ResumeState | None = None
    if resume_from is not None:
        state = load_resume_state(
            executor.log, resume_from, params, allow_param_changes=options.allow_param_changes,
            force=options.force, runs_dir=executor.runs_dir,
        )  # fmt: skip
        if state.already_succeeded:
            _log.info("run %s already succeeded; nothing to resume", state.run_id)
            return RunHandle.attach(state.run_id, executor.log)
        params = state.params
        end_run_tree(executor, state.run_id)
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
        params=recorded_params(pipeline, initial),
        meta={
            **pipeline.describe(),
            "resume_of": state.run_id if state else None,
            SECRET_PARAMS: sorted(secret_params(pipeline) & initial.keys()),
        },
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

    if options.background:
        sink.flush()  # the id we return can be looked up at once, from any process
        threading.Thread(target=drive, name=f"hoist-pipeline-{run.id}", daemon=True).start()
    else:
        drive()
    return RunHandle(run.id, executor.log, future=future, canceller=ctx.cancel, flush=sink.flush)


def secret_params(pipeline: ActionPipeline) -> frozenset[str]:
    """The params some node's action takes as a secret."""
    found: set[str] = set()
    for each in pipeline.nodes:
        model = getattr(each.action, "params_model", None)
        if model is not None:
            found |= secret_fields(model)
    return frozenset(found)


def recorded_params(pipeline: ActionPipeline, params: Mapping[str, Any]) -> dict[str, Any]:
    """A pipeline run's params as its record keeps them: JSON data with the values of
    secret params masked (a resume asks for them again)."""
    secret = secret_params(pipeline)
    return {
        key: SECRET_MASK if key in secret and value is not None else jsonable(value)
        for key, value in params.items()
    }


def end_run_tree(
    executor: Executor, run_id: str, reason: str = "", status: RunStatus = RunStatus.LOST
) -> None:
    """End a run whose worker is gone, and its unfinished children: ``lost`` (a pipeline
    run stays resumable) or ``status``, with ``reason`` as their error."""
    log = executor.log
    tree = [log.get_run(run_id), *log.list_runs(RunFilter(parent_id=run_id, limit=100_000))]
    for run in tree:
        if run.status.is_terminal:
            continue
        events = log.events(run.id)
        last = events[-1].seq if events else 0
        if reason:
            error_type = "RunLost" if status is RunStatus.LOST else "RunCancelled"
            executor.sink.emit(ErrorEvent(run_id=run.id, seq=last + 1, ts=time.time(),
                                          error_type=error_type, message=reason))  # fmt: skip
            last += 1
        executor.sink.emit(StatusEvent(run_id=run.id, seq=last + 1, ts=time.time(), status=status))
    executor.sink.flush()


def pipeline_handle(run_id: str, executor: Executor | None = None) -> RunHandle:
    """A handle to a pipeline run (one started in this process keeps its live result)."""
    executor = executor or executor_class(DEFAULT_MODE)()
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
