"""Registered agent services: list, register, read again, forget; an endpoint's form,
and launches forwarded with the caller's signed identity.

Every answer here comes from the registry's stored state, except the form and the
launch, which ask the service (with short timeouts: 502 when it does not answer). A launch
with files is a ``multipart/form-data`` body, streamed to the service as it arrives
(up to ``Settings.max_upload_bytes``; the service's own limits answer 413 too).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hoist.server import service_calls
from hoist.server.api import API_PREFIX
from hoist.server.auth import CSRF_FIELD
from hoist.server.deps import Operator, State, Viewer, responses
from hoist.server.schemas import ID_PATTERN
from hoist.server.service_models import SERVICE_URL_PATTERN, ServiceInfo

__all__ = ["ServiceCreate", "router"]

router = APIRouter(prefix=f"{API_PREFIX}/services", tags=["services"])

ServiceId = Annotated[str, Path(pattern=ID_PATTERN)]
EndpointPath = Annotated[
    str,
    Query(
        pattern=r"^/[^\x00-\x1f\x7f]{0,500}$",
        description="The endpoint's path below the service's base URL, e.g. `/`.",
    ),
]
_LAUNCH_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"description": "Launched: `{run_id, url}`, the run's page on this panel"},
    413: {"description": "A file, or the body, is over the server's or the service's limit"},
    422: {"description": "Invalid inputs: `{errors, elements}` from the service"},
    429: {"description": "The service is busy; see Retry-After"},
    502: {"description": "The service did not answer, refused the identity or failed"},
}

#: The launch's body in the API's schema (read by the handler itself: a multipart body
#: must reach the service unread).
_LAUNCH_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "description": "The endpoint's inputs."}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "description": "The endpoint's inputs with the files of its upload fields.",
            }
        },
    },
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 when it is no JSON, 422 when it is no object
    (as FastAPI answers a declared body)."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error"}]
        ) from None
    if not isinstance(value, dict):
        raise RequestValidationError(
            [{"type": "dict_type", "loc": ("body",), "msg": "Input should be a valid "
              "dictionary", "input": value}]
        )  # fmt: skip
    return value


class ServiceCreate(BaseModel):
    """A service to register, by its OpenAPI document's or Ray Serve routes' URL."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        pattern=SERVICE_URL_PATTERN,
        description="e.g. `http://host:8005/openapi.json` or `http://host:8000/-/routes`.",
    )


@router.get("", response_model=list[ServiceInfo], responses=responses(401))
def list_services(state: State, principal: Viewer) -> list[ServiceInfo]:
    """Every registered service as last read: ``pending``, ``ok`` with its endpoints, or
    ``unreachable`` with the error (read again in the background)."""
    return state.services.all()


@router.post(
    "", status_code=201, response_model=ServiceInfo, responses=responses(401, 403, 409, 422)
)
def register_service(
    body: ServiceCreate, state: State, principal: Operator, response: Response
) -> ServiceInfo:
    """Register a service (``pending`` at once; read in the background). A URL listed as
    a local service (``hoist service run`` on this store) becomes a registered one: same
    id, listed after its process stops; a URL registered already is a 409."""
    service = state.services.add(body.url)
    response.headers["Location"] = f"{API_PREFIX}/services/{service.id}"
    return service


@router.get("/{service_id}", response_model=ServiceInfo, responses=responses(401, 404, 422))
def get_service(service_id: ServiceId, state: State, principal: Viewer) -> ServiceInfo:
    """One registered service."""
    return state.services.get(service_id)


@router.post(
    "/{service_id}/refresh", status_code=202, response_model=ServiceInfo,
    responses=responses(401, 403, 404, 422),
)  # fmt: skip
def refresh_service(service_id: ServiceId, state: State, principal: Operator) -> ServiceInfo:
    """Read the service again now, in the background; answers its stored state."""
    service = state.services.get(service_id)
    state.services.refresh(service.id)
    return service


@router.delete(
    "/{service_id}", status_code=204, response_class=Response,
    responses=responses(401, 403, 404, 422),
)  # fmt: skip
def delete_service(service_id: ServiceId, state: State, principal: Operator) -> Response:
    """Forget a service (its runs stay)."""
    state.services.remove(service_id)
    return Response(status_code=204)


@router.get(
    "/{service_id}/form",
    responses={**responses(401, 404, 422), 502: _LAUNCH_ANSWERS[502]},
)
async def service_form(
    service_id: ServiceId, state: State, principal: Viewer, path: EndpointPath = "/"
) -> dict[str, Any]:
    """The form of the service's endpoint at ``path``: ``{elements, schema}``."""
    service = await anyio.to_thread.run_sync(state.services.get, service_id)
    return await service_calls.read_form(state.services.client, service, path)


@router.post(
    "/{service_id}/launch", status_code=202,
    responses={**responses(400, 401, 403, 404), **_LAUNCH_ANSWERS},
    openapi_extra={"requestBody": _LAUNCH_BODY},
)  # fmt: skip
async def launch_service(
    request: Request,
    service_id: ServiceId,
    state: State,
    principal: Operator,
    path: EndpointPath = "/",
) -> JSONResponse:
    """Launch the service's endpoint at ``path`` with the inputs, as the caller (a
    signed identity; the run records the caller as its ``meta.user``): a JSON object,
    or a ``multipart/form-data`` form with the files of its ``F.InputFiles`` fields,
    streamed to the service as it arrives."""
    service = await anyio.to_thread.run_sync(state.services.get, service_id)
    service.endpoint(path)  # before any body is read: 404 for an unknown endpoint
    inputs: dict[str, Any] | service_calls.Upload
    if _media_type(request) == "multipart/form-data":
        inputs = service_calls.Upload.of_request(request, leave_out=frozenset({CSRF_FIELD}))
    else:
        inputs = await _json_object(request)
    answer = await service_calls.launch(
        state.services.client, service, path, inputs,
        secret=state.settings.service_secret,
        user=principal.user.username, role=str(principal.user.role),
    )  # fmt: skip
    return JSONResponse(answer.body, answer.status, headers=answer.headers)
