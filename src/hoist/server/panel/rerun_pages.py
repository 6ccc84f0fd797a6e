"""Run again: a run's action or configured pipeline launched once more with the same
params and mode (one click, a CSRF-protected post; "Retry" on a failed run is the same),
or its launch form prefilled with the run's params to edit first.

A run's record keeps secret params masked, so a run with secret fields cannot be
replayed: its one-click post leads to the prefilled form, where they are typed again.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse

from hoist.errors import UserInputError
from hoist.executors.modes import resolve_mode
from hoist.runs.models import Run
from hoist.server.deps import State
from hoist.server.panel.access import PageOperator, PageViewer
from hoist.server.panel.launch_forms import MODE_FIELD, LaunchTarget, allowed_modes, rerun_target
from hoist.server.panel.plugin_pages import launch_form_page
from hoist.server.panel.routing import PanelRoute
from hoist.server.schemas import ID_PATTERN, LaunchRequest
from hoist.server.state import ServerState

__all__ = ["router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

RunId = Annotated[str, PathParam(pattern=ID_PATTERN)]


def _target(state: ServerState, run_id: str) -> tuple[Run, LaunchTarget]:
    run = state.store.get_run(run_id)
    return run, rerun_target(run, state.catalog.get)


def _mode_for(state: ServerState, run: Run, target: LaunchTarget) -> str | None:
    """The run's mode when the panel offers it; ``None`` (the default) when that is
    what the default resolves to.

    Raises:
        UserInputError: the run's mode is not offered here.
    """
    if run.mode in allowed_modes(state.runtime.settings):
        return run.mode
    if resolve_mode(None, target.plugin, target.action) == run.mode:
        return None
    raise UserInputError(
        f"run {run.id} ran in {run.mode!r} mode, which this server does not offer from the "
        "panel; use 'Run again with these params (edited)' to pick another"
    )


def _rerun(state: ServerState, run_id: str) -> str | None:
    """The new run's id, or ``None`` when the run has secrets (they must be re-entered)."""
    run, target = _target(state, run_id)
    if target.has_secrets or run.meta.get("secret_params"):
        return None
    launched = LaunchRequest(
        plugin=target.plugin.code, action=target.action, pipeline=target.pipeline,
        params=dict(run.params), mode=_mode_for(state, run, target),
    )  # fmt: skip
    new_id = state.launcher.launch(launched)
    kind = "action" if target.action else "pipeline"
    state.metrics.runs_launched.labels(kind, launched.mode).inc()
    return new_id


@router.post("/runs/{run_id}/rerun")
async def rerun(run_id: RunId, state: State, principal: PageOperator) -> Response:
    """Launch the run's action or pipeline again with its params and mode (operators;
    the form carries the CSRF token). A run with secret params goes to its prefilled
    form instead."""
    new_id = await anyio.to_thread.run_sync(_rerun, state, run_id)
    if new_id is None:
        return RedirectResponse(f"/runs/{run_id}/rerun", 303)
    return RedirectResponse(f"/runs/{new_id}", 303)


@router.get("/runs/{run_id}/rerun")
async def rerun_form(
    request: Request, run_id: RunId, state: State, principal: PageViewer
) -> HTMLResponse:
    """The run's launch form prefilled with its params and mode, posting to the usual
    launch URL (secret params must be typed again: the record masks them)."""
    run, target = await anyio.to_thread.run_sync(_target, state, run_id)
    values = {**run.params, MODE_FIELD: run.mode}
    return launch_form_page(request, state, principal, target, values, rerun_of=run)
