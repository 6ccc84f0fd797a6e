"""Tools on runs: list, read, wait (with progress), events and logs, cancel, resume; and
the launch-then-wait every launching tool shares.

They call what the API's routes call (the server's launcher and store), so an agent,
the panel and ``hoist runs`` never disagree. Params are read from the store, where
secret params are already masked.
"""

from __future__ import annotations

from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, Field

from hoist.mcp.tools.base import Tool, ToolContext, model_tool
from hoist.mcp.waiting import WaitOutcome, ended_outcome, wait_for_run
from hoist.runs.models import Run, RunStatus
from hoist.runs.reader import RunFilter
from hoist.server.accounts import Role
from hoist.server.schemas import ID_PATTERN, NAME_PATTERN, LaunchRequest, ResumeRequest
from hoist.server.state import ServerState

__all__ = ["launch_and_wait", "run_tools", "run_view"]


def run_view(run: Run) -> dict[str, Any]:
    """What an agent is told of a run: its identity, status, params (secrets masked),
    result or error, and timings."""
    data = run.to_dict()
    view = {k: data[k] for k in ("id", "kind", "plugin", "action", "mode", "status", "parent_id")}
    view.update(
        params=data["params"],
        result=data["result"],
        error=data["error"],
        created_at=data["created_at"],
        duration=run.duration,
        resource=f"hoist://runs/{run.id}",
    )
    if run.meta.get("pipeline"):
        view["pipeline"] = run.meta["pipeline"]
    return view


async def _get_exposed_run(ctx: ToolContext, run_id: str) -> Run:
    run = await anyio.to_thread.run_sync(ctx.state.store.get_run, run_id)
    ctx.exposure.check(run.plugin, run.action)
    return run


async def launch_and_wait(ctx: ToolContext, request: LaunchRequest, wait: float) -> dict[str, Any]:
    """Launch what ``request`` names, then wait up to ``wait`` seconds for it to end.

    Returns:
        The run (its result or error when it ended), and ``ended``: whether it did.

    Raises:
        NotExposedError, ParamsValidationError, PluginNotFoundError...: as the API's launch.
    """
    ctx.exposure.check(request.plugin, request.action or request.pipeline)
    settle = min(wait, SETTLE) if ctx.progress is None else 0.0
    run_id, ended = await anyio.to_thread.run_sync(_launch, ctx.state, request, settle)
    if ended is not None:
        return _view(ended)
    return await _waited(ctx, run_id, wait)


SETTLE = 0.05
"""Seconds the launching thread waits for a run of this process to end before the call
waits without a thread (a quick action then answers in one thread hop)."""


def _launch(
    state: ServerState, request: LaunchRequest, settle: float
) -> tuple[str, WaitOutcome | None]:
    """Launch, and when the run ends within ``settle`` seconds, its final outcome."""
    # Not recorded at once: whoever reads the run next flushes the sink first.
    run_id = state.launcher.launch(request, record_now=False)
    handle = state.launcher.handle(run_id)
    if settle <= 0 or handle is None or handle.future is None:
        return run_id, None
    try:
        handle.future.exception(settle)
    except (FutureTimeout, CancelledError):
        return run_id, None
    return run_id, ended_outcome(state, handle)


async def _waited(ctx: ToolContext, run_id: str, wait: float) -> dict[str, Any]:
    return _view(await wait_for_run(ctx.state, run_id, wait, ctx.progress))


def _view(outcome: WaitOutcome) -> dict[str, Any]:
    view = run_view(outcome.run)
    view["ended"] = outcome.ended
    if not outcome.ended:
        view["next"] = f"call wait_run with run_id {outcome.run.id} to follow it"
    return view


class _RunArguments(BaseModel):
    model_config = {"extra": "forbid"}
    run_id: str = Field(
        pattern=ID_PATTERN, description="A run id, a unique prefix of it, or its short form."
    )


class _WaitArguments(_RunArguments):
    timeout_seconds: float = Field(
        60.0, ge=0, le=3600, description="How long to wait before answering anyway."
    )


class _EventsArguments(_RunArguments):
    after: int = Field(0, ge=0, description="Only events with seq greater than this.")
    limit: int = Field(50, ge=1, le=500, description="At most this many events.")
    types: list[str] | None = Field(
        None, description="Only these event types (log, progress, metrics, status, ...)."
    )


class _ListArguments(BaseModel):
    model_config = {"extra": "forbid"}
    status: list[RunStatus] | None = Field(None, description="Only runs in these statuses.")
    plugin: str | None = Field(None, pattern=NAME_PATTERN, description="Only this plugin's.")
    limit: int = Field(20, ge=1, le=200, description="At most this many runs, newest first.")


class _ResumeArguments(_RunArguments):
    params: dict[str, Any] | None = Field(None, description="Params to change, if any.")
    allow_param_changes: bool = Field(False, description="Allow params to differ.")
    wait_seconds: float = Field(10.0, ge=0, le=3600, description="How long to wait.")


async def _list_runs(ctx: ToolContext, args: _ListArguments) -> dict[str, Any]:
    ctx.exposure.check(args.plugin)
    flt = RunFilter(status=args.status or None, plugin=args.plugin, limit=args.limit)
    runs = await anyio.to_thread.run_sync(ctx.state.store.list_runs, flt)
    shown = [r for r in runs if ctx.exposure.allows(r.plugin, r.action)]
    keys = ("id", "kind", "plugin", "action", "status", "created_at")
    return {"runs": [{k: run_view(r)[k] for k in keys} for r in shown]}


async def _get_run(ctx: ToolContext, args: _RunArguments) -> dict[str, Any]:
    return run_view(await _get_exposed_run(ctx, args.run_id))


async def _wait_run(ctx: ToolContext, args: _WaitArguments) -> dict[str, Any]:
    run = await _get_exposed_run(ctx, args.run_id)
    return await _waited(ctx, run.id, args.timeout_seconds)


async def _run_events(ctx: ToolContext, args: _EventsArguments) -> dict[str, Any]:
    run = await _get_exposed_run(ctx, args.run_id)
    store = ctx.state.store
    if args.types:
        events = await anyio.to_thread.run_sync(
            lambda: store.events_of_type(
                run.id, tuple(args.types or ()), args.limit, after=args.after
            )
        )
    else:
        events = await anyio.to_thread.run_sync(store.events, run.id, args.after, args.limit)
    shown = [{"seq": e.seq, "ts": e.ts, "type": e.type, "summary": e.summary()} for e in events]
    return {
        "run_id": run.id,
        "events": shown,
        "next_after": shown[-1]["seq"] if shown else args.after,
    }


async def _cancel_run(ctx: ToolContext, args: _RunArguments) -> dict[str, Any]:
    run = await _get_exposed_run(ctx, args.run_id)
    ended = await anyio.to_thread.run_sync(ctx.state.launcher.cancel, run.id)
    return {"run_id": ended.id, "status": str(ended.status), "cancel_requested": True}


async def _resume_run(ctx: ToolContext, args: _ResumeArguments) -> dict[str, Any]:
    run = await _get_exposed_run(ctx, args.run_id)
    request = ResumeRequest(params=args.params, allow_param_changes=args.allow_param_changes)
    new_id = await anyio.to_thread.run_sync(ctx.state.launcher.resume, run.id, request)
    return await _waited(ctx, new_id, args.wait_seconds)


def run_tools() -> list[Tool]:
    """The tools on runs."""
    operator: dict[str, Any] = {"role": Role.OPERATOR, "read_only": False}
    return [
        model_tool("list_runs", _ListArguments, _list_runs,
                   "List recent runs, newest first (filter by status and plugin).",
                   title="List runs"),
        model_tool("get_run", _RunArguments, _get_run,
                   "A run's status, params (secrets masked), result or error, and timings.",
                   title="Get a run"),
        model_tool("wait_run", _WaitArguments, _wait_run,
                   "Wait for a run to end, up to timeout_seconds, reporting its progress; "
                   "answers the run (ended: false when the timeout came first).",
                   title="Wait for a run"),
        model_tool("run_events", _EventsArguments, _run_events,
                   "A run's events in order (logs, progress, metrics, status changes...), "
                   "each with its one-line summary; page with after.",
                   title="Run events and logs"),
        model_tool("cancel_run", _RunArguments, _cancel_run,
                   "Ask a run to stop at its next cancellation point.",
                   title="Cancel a run", **operator),
        model_tool("resume_run", _ResumeArguments, _resume_run,
                   "Resume a pipeline run that failed or was cancelled: its finished "
                   "nodes are skipped; a new run starts.", title="Resume a pipeline run",
                   **operator),
    ]  # fmt: skip
