"""Registered agent services: list, register, read again, forget; an endpoint's form,
and launches forwarded with the caller's signed identity.

Every answer here comes from the registry's stored state, except the form and the
launch, which ask the service (with short timeouts: 502 when it does not answer).
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hoist.server import service_calls
from hoist.server.api import API_PREFIX
from hoist.server.deps import Operator, State, Viewer, responses
from hoist.server.schemas import ID_PATTERN
from hoist.server.service_registry import SERVICE_URL_PATTERN, ServiceInfo

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
    422: {"description": "Invalid inputs: `{errors, elements}` from the service"},
    429: {"description": "The service is busy; see Retry-After"},
    502: {"description": "The service did not answer, refused the identity or failed"},
}


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
    """Register a service (``pending`` at once; read in the background)."""
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
    responses={**responses(401, 403, 404), **_LAUNCH_ANSWERS},
)  # fmt: skip
async def launch_service(
    service_id: ServiceId,
    state: State,
    principal: Operator,
    inputs: Annotated[dict[str, Any], Body(description="The endpoint's inputs.")],
    path: EndpointPath = "/",
) -> JSONResponse:
    """Launch the service's endpoint at ``path`` with ``inputs``, as the caller (a
    signed identity; the run records the caller as its ``meta.user``)."""
    service = await anyio.to_thread.run_sync(state.services.get, service_id)
    answer = await service_calls.launch(
        state.services.client, service, path, inputs,
        secret=state.settings.service_secret,
        user=principal.user.username, role=str(principal.user.role),
    )  # fmt: skip
    return JSONResponse(answer.body, answer.status, headers=answer.headers)
