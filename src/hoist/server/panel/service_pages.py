"""The Services page: registered and local agent services (``hoist service run`` on the
same store lists itself, labelled ``local``) as the registry last found them
(``pending``, ``ok`` with their endpoints, ``unreachable`` with the error), with forms to
add, refresh and remove one (operators), and each endpoint's launch form, rendered from
the elements the service sends.

The list is read from the store only: the page never waits on a service. The launch
form asks the service (short timeouts; a service that does not answer is a 502 page).
Both go through the same registry and calls as ``/api/v1/services``. The service's form
is not trusted: :func:`~hoist.services.forms_io.elements_from_json` rebuilds it and
:mod:`hoist.forms` renders it (values escaped, Markdown and HTML sanitised); inputs are
checked against it here first (errors next to their fields without a call), then sent
as JSON with the caller's signed identity. A form with an ``F.InputFiles`` field posts
``multipart/form-data``: the service checks it (its files are its to count), so the post
goes to it as it came, files streamed from where Starlette spooled them, and its 413 or
422 comes back next to the fields.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from hoist import forms as F
from hoist.errors import HoistError, ParamsValidationError
from hoist.server.accounts import Role
from hoist.server.auth import CSRF_FIELD, Principal
from hoist.server.deps import State
from hoist.server.panel.access import PageOperator, PageViewer
from hoist.server.panel.outputs import markdown_html
from hoist.server.panel.routing import PanelRoute, error_page
from hoist.server.panel.templating import render_page
from hoist.server.schemas import ID_PATTERN
from hoist.server.service_calls import ServiceCallError, Upload, launch, read_form
from hoist.server.service_models import ServiceExistsError, ServiceInfo
from hoist.server.state import ServerState
from hoist.services.forms_io import elements_from_json

__all__ = ["router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

ServiceId = Annotated[str, PathParam(pattern=ID_PATTERN)]
EndpointPath = Annotated[str, Query(pattern=r"^/[^\x00-\x1f\x7f]{0,500}$")]


def _services(state: ServerState) -> list[dict[str, Any]]:
    out = []
    for service in state.services.all():
        info = service.model_dump()
        for endpoint in info["endpoints"]:
            endpoint["description_html"] = markdown_html(endpoint["description"] or "")
        out.append(info)
    return out


async def _list_page(
    request: Request,
    state: ServerState,
    principal: Principal,
    *,
    error: str | None = None,
    url: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    services = await anyio.to_thread.run_sync(_services, state)
    return render_page(request, "services.html", principal, status_code=status_code,
                       services=services, add_error=error, add_url=url)  # fmt: skip


@router.get("/services")
async def services_page(request: Request, state: State, principal: PageViewer) -> HTMLResponse:
    """Every registered and local service and its endpoints, as last read (never waits
    on one)."""
    return await _list_page(request, state, principal)


@router.post("/services", response_model=None)
async def add_service(
    request: Request,
    state: State,
    principal: PageOperator,
    url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Register a service by its URL (operators): listed ``pending`` at once, read in the
    background; a bad or already registered URL comes back with the reason."""
    try:
        service = await anyio.to_thread.run_sync(state.services.add, url)
    except ParamsValidationError as exc:
        return await _list_page(request, state, principal, error=exc.message, url=url,
                                status_code=422)  # fmt: skip
    except ServiceExistsError as exc:
        return await _list_page(request, state, principal, error=exc.message, url=url,
                                status_code=409)  # fmt: skip
    return RedirectResponse(f"/services#service-{service.id}", 303)


@router.post("/services/{service_id}/refresh")
async def refresh_service(
    service_id: ServiceId, state: State, principal: PageOperator
) -> RedirectResponse:
    """Read the service again now, in the background (operators)."""
    service = await anyio.to_thread.run_sync(state.services.get, service_id)
    state.services.refresh(service.id)
    return RedirectResponse(f"/services#service-{service.id}", 303)


@router.post("/services/{service_id}/remove")
async def remove_service(
    service_id: ServiceId, state: State, principal: PageOperator
) -> RedirectResponse:
    """Forget the service (operators; its runs stay)."""
    await anyio.to_thread.run_sync(state.services.remove, service_id)
    return RedirectResponse("/services", 303)


async def _endpoint_form(state: ServerState, service: ServiceInfo, path: str) -> F.Model:
    """The endpoint's form, rebuilt from the elements the service sends.

    Raises:
        EndpointNotFoundError: no such endpoint.
        ServiceCallError: the service did not answer with a form, or one this Hoist cannot
            rebuild.
    """
    found = await read_form(state.services.client, service, path)
    try:
        return F.Model(*elements_from_json(found["elements"]))
    except (ValueError, TypeError, HoistError) as exc:  # unknown elements, duplicate names
        raise ServiceCallError(service.url, f"sent a form that cannot be shown: {exc}") from None


def _enter_page(
    request: Request,
    principal: Principal,
    service: ServiceInfo,
    path: str,
    form: F.Model,
    *,
    values: Any = None,
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    allowed = principal.user.role.allows(Role.OPERATOR)
    endpoint = service.endpoint(path)
    html = form.render(values, errors, action=str(request.url.path) + "?" + request.url.query,
                       csrf_token=principal.csrf_token if allowed else None)  # fmt: skip
    page = render_page(request, "service_enter.html", principal, status_code=status_code,
                       service=service, endpoint=endpoint, endpoint_path=path, form_html=html,
                       allowed=allowed, notice=notice,
                       description_html=markdown_html(endpoint.description or ""))  # fmt: skip
    page.headers.update(headers or {})
    return page


def _unavailable(exc: ServiceCallError) -> HTMLResponse:
    return error_page(502, f"The service did not answer usably: {exc.message}")


@router.get("/services/{service_id}/enter", response_model=None)
async def enter_page(
    request: Request,
    service_id: ServiceId,
    state: State,
    principal: PageViewer,
    path: EndpointPath = "/",
) -> Response:
    """The launch form of the service's endpoint at ``path``, as the service sends it
    (shown disabled to viewers; a 502 page when the service does not answer)."""
    service = await anyio.to_thread.run_sync(state.services.get, service_id)
    try:
        form = await _endpoint_form(state, service, path)
    except ServiceCallError as exc:
        return _unavailable(exc)
    return _enter_page(request, principal, service, path, form)


@router.post("/services/{service_id}/enter", response_model=None)
async def enter(
    request: Request,
    service_id: ServiceId,
    state: State,
    principal: PageOperator,
    path: EndpointPath = "/",
) -> Response:
    """Launch the endpoint (operators): inputs checked against the form, then sent to the
    service as the caller; its run's page on success, errors next to their fields
    (422), a busy service said politely (429), a silent one a 502 page."""
    service = await anyio.to_thread.run_sync(state.services.get, service_id)
    data = await request.form()
    try:
        return await _launch(request, state, principal, service, path, data)
    finally:
        await data.close()  # the files Starlette spooled, whatever became of the launch


async def _launch(
    request: Request,
    state: ServerState,
    principal: Principal,
    service: ServiceInfo,
    path: str,
    data: FormData,
) -> Response:
    try:
        form = await _endpoint_form(state, service, path)
        inputs: dict[str, Any] | Upload
        if _file_fields(form):
            inputs = Upload.of_form(data, leave_out=frozenset({CSRF_FIELD}))
        else:
            try:
                inputs = form.validate(data, form=True)
            except F.InputsError as exc:
                return _enter_page(request, principal, service, path, form, values=data,
                                   errors=exc.errors, status_code=422)  # fmt: skip
        user = principal.user
        answer = await launch(state.services.client, service, path, inputs,
                              secret=state.settings.service_secret, user=user.username,
                              role=str(user.role))  # fmt: skip
    except ServiceCallError as exc:
        return _unavailable(exc)
    if answer.status == 202:
        return RedirectResponse(f"/runs/{answer.body['run_id']}", 303)
    if answer.status == 429:
        wait = answer.headers.get("Retry-After", "1")
        notice = (f"The service is busy right now. Please try again in {wait} second"
                  f"{'' if wait == '1' else 's'}; your inputs are kept.")  # fmt: skip
        return _enter_page(request, principal, service, path, form, values=data, notice=notice,
                           status_code=429, headers={"Retry-After": wait})  # fmt: skip
    if answer.status == 413:  # said next to the upload fields: one of theirs was too large
        detail = str(answer.body.get("detail") or "the files are too large")
        too_large = {name: [detail] for name in _file_fields(form)}
        return _enter_page(request, principal, service, path, form, values=data,
                           errors=too_large, status_code=413)  # fmt: skip
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    errors = errors if isinstance(errors, dict) else {}
    return _enter_page(request, principal, service, path, form, values=data, errors=errors,
                       status_code=422)  # fmt: skip


def _file_fields(form: F.Model) -> list[str]:
    """The names of ``form``'s upload fields."""
    return [e.name for e in form.fields() if isinstance(e, F.InputFiles)]
