"""Plugins and the launch forms of their actions and configured pipelines, generated
from the params model (a pipeline's: its first action's) with :mod:`hoist.forms`, with
the executor mode to run in; a valid post starts the run through the server's launcher."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse

from hoist.errors import ParamsValidationError
from hoist.forms.markup import render_markdown
from hoist.runs.models import Run
from hoist.server.accounts import Role
from hoist.server.auth import Principal
from hoist.server.catalog import describe_plugin
from hoist.server.deps import State
from hoist.server.panel.access import PageOperator, PageViewer
from hoist.server.panel.launch_forms import LaunchTarget, carried_params, launch_target
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.templating import render_page
from hoist.server.schemas import ID_PATTERN, NAME_PATTERN, LaunchRequest
from hoist.server.state import ServerState

__all__ = ["launch_form_page", "router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

Name = Annotated[str, PathParam(pattern=NAME_PATTERN)]


def _plugins(state: ServerState) -> dict[str, Any]:
    plugins = [describe_plugin(p, actions=True) for p in state.catalog.plugins()]
    for plugin in plugins:
        plugin["description_html"] = render_markdown(plugin["description"] or "")
        for action in plugin["actions"]:
            action["description_html"] = render_markdown(action["description"] or "")
    return {"plugins": plugins, "broken": state.catalog.errors()}


@router.get("/plugins")
async def plugins_page(request: Request, state: State, principal: PageViewer) -> HTMLResponse:
    """Every plugin the server offers, its actions and their descriptions."""
    context = await anyio.to_thread.run_sync(_plugins, state)
    return render_page(request, "plugins.html", principal, **context)


def _target(
    state: ServerState, code: str, action: str | None, pipeline: str | None
) -> LaunchTarget:
    return launch_target(state.catalog.get(code), action, pipeline)


def launch_form_page(
    request: Request,
    state: ServerState,
    principal: Principal,
    target: LaunchTarget,
    values: Any = None,
    errors: Mapping[str, list[str]] | None = None,
    status_code: int = 200,
    rerun_of: Run | None = None,
) -> HTMLResponse:
    """The launch page of ``target``: its form showing ``values`` and ``errors``, or
    prefilled with the params of ``rerun_of`` (whose secrets must be typed again; its
    params the form does not show are kept: the form posts with ``?from=`` its id)."""
    allowed = principal.user.role.allows(Role.OPERATOR)
    form = target.form(state.runtime.settings)
    action = target.url if rerun_of is None else f"{target.url}?from={rerun_of.id}"
    html = form.render(
        values, errors, action=action, csrf_token=principal.csrf_token if allowed else None
    )
    kept = sorted(carried_params(rerun_of, target)) if rerun_of is not None else []
    return render_page(request, "launch.html", principal, status_code=status_code,
                       info=target.info, form_html=html, allowed=allowed,
                       rerun_of=rerun_of, has_secrets=target.has_secrets, kept=kept)  # fmt: skip


def _source(state: ServerState, run_id: str | None) -> Run | None:
    """The run an edited re-run comes from (``?from=``), if any."""
    if not run_id or not re.fullmatch(ID_PATTERN, run_id):
        return None
    return state.store.get_run(run_id)


async def _launch(request: Request, state: ServerState, principal: Principal,
                  target: LaunchTarget) -> Response:  # fmt: skip
    data = await request.form()
    settings = state.runtime.settings
    source = await anyio.to_thread.run_sync(_source, state, request.query_params.get("from"))
    try:
        params, mode = target.validate(data, settings)
        if source is not None:
            params = {**carried_params(source, target), **params}
        launched = LaunchRequest(plugin=target.plugin.code, action=target.action,
                                 pipeline=target.pipeline, params=params, mode=mode)  # fmt: skip
        run_id = await anyio.to_thread.run_sync(state.launcher.launch, launched)
    except ParamsValidationError as exc:  # the form's check, or the launcher's own
        errors = target.form_errors(exc.field_errors)
        return launch_form_page(request, state, principal, target, data, errors, 422, source)
    kind = "action" if target.action else "pipeline"
    state.metrics.runs_launched.labels(kind, launched.mode).inc()
    return RedirectResponse(f"/runs/{run_id}", 303)


@router.get("/plugins/{code}/actions/{action}")
async def launch_page(
    request: Request, code: Name, action: Name, state: State, principal: PageViewer
) -> HTMLResponse:
    """The action's launch form (shown disabled to viewers)."""
    target = await anyio.to_thread.run_sync(_target, state, code, action, None)
    return launch_form_page(request, state, principal, target)


@router.post("/plugins/{code}/actions/{action}", response_model=None)
async def launch(
    request: Request, code: Name, action: Name, state: State, principal: PageOperator
) -> Response:
    """Validate the posted form; invalid inputs come back next to their fields (422),
    valid ones start the run and redirect to its page (operators only)."""
    target = await anyio.to_thread.run_sync(_target, state, code, action, None)
    return await _launch(request, state, principal, target)


@router.get("/plugins/{code}/pipelines/{pipeline}")
async def pipeline_page(
    request: Request, code: Name, pipeline: Name, state: State, principal: PageViewer
) -> HTMLResponse:
    """A configured pipeline's launch form: its first action's params and the mode."""
    target = await anyio.to_thread.run_sync(_target, state, code, None, pipeline)
    return launch_form_page(request, state, principal, target)


@router.post("/plugins/{code}/pipelines/{pipeline}", response_model=None)
async def launch_pipeline(
    request: Request, code: Name, pipeline: Name, state: State, principal: PageOperator
) -> Response:
    """Start the pipeline with the posted params (422 with the form on invalid ones)."""
    target = await anyio.to_thread.run_sync(_target, state, code, None, pipeline)
    return await _launch(request, state, principal, target)
