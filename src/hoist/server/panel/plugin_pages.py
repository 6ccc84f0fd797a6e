"""Plugins and the launch form of an action, generated from its params model with
:mod:`hoist.forms`; a valid post starts the run through the server's launcher."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse

from hoist import forms as F
from hoist.errors import ParamsValidationError
from hoist.forms.markup import render_markdown
from hoist.plugins.discovery import PluginDefinition
from hoist.server.accounts import Role
from hoist.server.auth import Principal
from hoist.server.catalog import describe_action, describe_plugin
from hoist.server.deps import State
from hoist.server.panel.access import PageOperator, PageViewer
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.templating import render_page
from hoist.server.schemas import NAME_PATTERN, LaunchRequest
from hoist.server.state import ServerState

__all__ = ["launch_form", "router"]

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


def launch_form(plugin: PluginDefinition, action: str) -> F.Model:
    """The launch form of ``action``: its params model's inputs, Launch and Cancel."""
    params = plugin.load_action(action).params_model
    generated = F.form_for(params, submit="Launch")
    return F.Model(*generated.elements, F.Cancel("Cancel"), params=params)


def _action(state: ServerState, code: str, action: str) -> tuple[dict[str, Any], F.Model]:
    plugin = state.catalog.get(code)
    info = describe_action(plugin, action)
    info["plugin"] = describe_plugin(plugin)
    info["description_html"] = render_markdown(info["description"] or "")
    return info, launch_form(plugin, action)


def _form_page(
    request: Request,
    principal: Principal,
    info: dict[str, Any],
    form: F.Model,
    values: Any = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    allowed = principal.user.role.allows(Role.OPERATOR)
    html = form.render(
        values, errors, action=request.url.path,
        csrf_token=principal.csrf_token if allowed else None,
    )  # fmt: skip
    return render_page(request, "launch.html", principal, status_code=status_code,
                       info=info, form_html=html, allowed=allowed)  # fmt: skip


@router.get("/plugins/{code}/actions/{action}")
async def launch_page(
    request: Request, code: Name, action: Name, state: State, principal: PageViewer
) -> HTMLResponse:
    """The action's launch form (shown disabled to viewers)."""
    info, form = await anyio.to_thread.run_sync(_action, state, code, action)
    return _form_page(request, principal, info, form)


@router.post("/plugins/{code}/actions/{action}", response_model=None)
async def launch(
    request: Request, code: Name, action: Name, state: State, principal: PageOperator
) -> Response:
    """Validate the posted form; invalid inputs come back next to their fields (422),
    valid ones start the run and redirect to its page (operators only)."""
    info, form = await anyio.to_thread.run_sync(_action, state, code, action)
    data = await request.form()
    try:
        params = form.validate(data, form=True)
        launched = LaunchRequest(plugin=code, action=action, params=params)
        run_id = await anyio.to_thread.run_sync(state.launcher.launch, launched)
    except ParamsValidationError as exc:  # F.InputsError, or the launcher's own check
        return _form_page(request, principal, info, form, data, exc.field_errors, 422)
    state.metrics.runs_launched.labels("action", launched.mode).inc()
    return RedirectResponse(f"/runs/{run_id}", 303)
