"""The Deployments pages: every named deployment's current version (status, health,
endpoint), and one deployment's page with its versions (each with its deploy run), the
logs' tail (operators), an invoke form built from the deployed call's input schema, and
stop and rollback (operators).

Everything goes through the server's :class:`~hoist.deployment.manager.DeploymentManager`
(the one ``/api/v1/deployments`` uses), in the thread pool: deploys, health checks and
calls block. The invoke form checks the inputs first (errors next to their fields, the
values kept, no call); the deployed call's own field errors come back the same way. The
answered envelope is shown as it came: the output, or the error's type and message.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Form, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse

from hoist import forms as F
from hoist.deployment.manager import DeploymentManager
from hoist.deployment.records import NAME_PATTERN, DeploymentRecord
from hoist.errors import DeploymentError, NotFoundError, UserInputError
from hoist.server.accounts import Role
from hoist.server.auth import Principal
from hoist.server.deps import State
from hoist.server.panel.access import PageOperator, PageViewer
from hoist.server.panel.deployment_forms import invoke_form, invoke_inputs
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.templating import render_page
from hoist.server.state import ServerState

__all__ = ["LOG_TAIL_LINES", "router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

DeploymentName = Annotated[str, PathParam(pattern=f"^{NAME_PATTERN.pattern}$")]
LOG_TAIL_LINES = 200
"""Lines of a deployment's logs its page shows (the API and CLI have them all)."""
_LOG_TAIL_CHARS = 64_000


def _manager(state: ServerState) -> DeploymentManager:
    """The server's deployment manager (the one ``/api/v1/deployments`` uses)."""
    return state.deployments


def _tail(text: str) -> str:
    lines = text[-_LOG_TAIL_CHARS:].splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _read(state: ServerState, name: str, with_logs: bool) -> dict[str, Any]:
    """The detail page's data: the current record, its versions, and the logs' tail
    (or why there are none)."""
    manager = _manager(state)
    record = manager.show(name)
    versions = manager.versions(name)
    logs: str | None = None
    logs_note: str | None = None
    if with_logs:
        try:
            logs = _tail(manager.logs(name))
        except (DeploymentError, UserInputError, OSError) as exc:
            logs_note = f"No logs: {exc}"
    return {"record": record, "versions": list(reversed(versions)), "logs": logs,
            "logs_note": logs_note}  # fmt: skip


def _operates(principal: Principal) -> bool:
    return principal.user.role.allows(Role.OPERATOR)


def _rollback_choices(record: DeploymentRecord, versions: list[DeploymentRecord]) -> list[int]:
    """Versions a rollback may return to: ones that once ran, other than the current."""
    return [v.version for v in versions
            if v.version != record.version and v.status in ("replaced", "stopped")]  # fmt: skip


async def _detail(
    request: Request,
    state: ServerState,
    principal: Principal,
    name: str,
    *,
    status_code: int = 200,
    notice: str | None = None,
    values: Any = None,
    errors: dict[str, list[str]] | None = None,
    envelope: dict[str, Any] | None = None,
) -> HTMLResponse:
    operates = _operates(principal)
    data = await anyio.to_thread.run_sync(_read, state, name, operates)
    record: DeploymentRecord = data.pop("record")
    found = invoke_form(record.input_schema)
    action = f"/deployments/{record.name}/invoke"
    token = principal.csrf_token if operates else None
    form_html = found.form.render(values, errors, action=action, csrf_token=token)
    return render_page(request, "deployment.html", principal, status_code=status_code,
                       record=record, notice=notice, envelope=envelope, form_html=form_html,
                       form_note=found.note, generated=found.generated, allowed=operates,
                       rollback_choices=_rollback_choices(record, data["versions"]),
                       **data)  # fmt: skip


@router.get("/deployments")
async def deployments_page(request: Request, state: State, principal: PageViewer) -> HTMLResponse:
    """Every deployment's current version: status, health, endpoint, strategy."""
    records = await anyio.to_thread.run_sync(lambda: _manager(state).list())
    records.sort(key=lambda r: r.name)
    return render_page(request, "deployments.html", principal, deployments=records)


@router.get("/deployments/{name}")
async def deployment_page(
    request: Request, name: DeploymentName, state: State, principal: PageViewer
) -> HTMLResponse:
    """One deployment: its current version, versions, logs (operators) and invoke form."""
    return await _detail(request, state, principal, name)


@router.post("/deployments/{name}/invoke", response_model=None)
async def invoke_page(
    request: Request, name: DeploymentName, state: State, principal: PageOperator
) -> Response:
    """Call the deployment with the form's inputs (operators): the answered envelope on
    the page (200 success, 502 an error answer); inputs that do not validate come back
    next to their fields with their values (422); a deployment that is not running or
    cannot be reached is said on the page (409)."""
    record = await anyio.to_thread.run_sync(_manager(state).show, name)
    found = invoke_form(record.input_schema)
    data = await request.form()
    try:
        inputs = invoke_inputs(found, data)
    except F.InputsError as exc:
        return await _detail(request, state, principal, name, status_code=422, values=data,
                             errors=exc.errors)  # fmt: skip
    try:
        envelope = await anyio.to_thread.run_sync(_manager(state).invoke, name, inputs)
    except DeploymentError as exc:
        return await _detail(request, state, principal, name, status_code=409, values=data,
                             notice=exc.message)  # fmt: skip
    if envelope.get("status") == "success":
        return await _detail(request, state, principal, name, values=data, envelope=envelope)
    errors = _call_errors(envelope, {f.name for f in found.form.fields()})
    if errors:
        return await _detail(request, state, principal, name, status_code=422, values=data,
                             errors=errors, envelope=envelope)  # fmt: skip
    return await _detail(request, state, principal, name, status_code=502, values=data,
                         envelope=envelope)  # fmt: skip


def _call_errors(envelope: dict[str, Any], fields: set[str]) -> dict[str, list[str]]:
    """The deployed call's field errors, for the form: next to the form's own fields,
    the rest at its top (``field: message``)."""
    error = envelope.get("error")
    found = error.get("field_errors") if isinstance(error, dict) else None
    if not isinstance(found, dict):
        return {}
    errors: dict[str, list[str]] = {}
    for field, messages in found.items():
        texts = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
        if str(field) in fields:
            errors.setdefault(str(field), []).extend(texts)
        else:
            errors.setdefault(F.GLOBAL, []).extend(f"{field}: {text}" for text in texts)
    return errors


@router.post("/deployments/{name}/stop", response_model=None)
async def stop_page(
    request: Request, name: DeploymentName, state: State, principal: PageOperator
) -> Response:
    """Stop the running version (operators); back to the deployment's page. One that
    cannot be stopped from here (another process runs it) is said on the page (409)."""
    try:
        record = await anyio.to_thread.run_sync(_manager(state).stop, name)
    except DeploymentError as exc:
        return await _detail(request, state, principal, name, status_code=409,
                             notice=exc.message)  # fmt: skip
    return RedirectResponse(f"/deployments/{record.name}", 303)


@router.post("/deployments/{name}/rollback", response_model=None)
async def rollback_page(
    request: Request,
    name: DeploymentName,
    state: State,
    principal: PageOperator,
    version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Start a previous version again (operators; the chosen one, else the newest
    earlier one that ran); back to the deployment's page. Nothing to roll back to (400)
    or a version that does not start (409) is said on the page."""
    picked: int | None = None
    if version.strip():
        if not version.strip().isdigit():
            notice = f"version must be a whole number, got {version!r}"
            return await _detail(request, state, principal, name, status_code=400, notice=notice)
        picked = int(version)
    try:
        await anyio.to_thread.run_sync(_manager(state).rollback, name, picked)
    except NotFoundError:
        raise
    except UserInputError as exc:
        return await _detail(request, state, principal, name, status_code=400,
                             notice=exc.message)  # fmt: skip
    except DeploymentError as exc:
        return await _detail(request, state, principal, name, status_code=409,
                             notice=exc.message)  # fmt: skip
    return RedirectResponse(f"/deployments/{name}", 303)
