"""Health, readiness, metrics and the API's own description.

There is no interactive docs page: Swagger UI would load its script from a CDN. The
OpenAPI document at ``/api/v1/openapi.json`` opens in any OpenAPI viewer."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from hoist._version import __version__
from hoist.runs.store.migrate import current_revision
from hoist.runs.store.revision import HEAD_REVISION
from hoist.server.api import API_PREFIX
from hoist.server.deps import State, Viewer, responses

__all__ = ["metrics_router", "router"]

router = APIRouter(prefix=API_PREFIX, tags=["system"])
metrics_router = APIRouter(tags=["system"])
"""Mounted at the root: ``/metrics``, where Prometheus looks by default."""


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    """Always ``ok`` while the process serves requests (no authentication)."""
    return {"status": "ok", "version": __version__}


@router.get(
    "/ready",
    summary="Readiness: the run store answers and is migrated",
    responses={503: {"description": "The store is unreachable or not migrated"}},
)
def ready(state: State) -> JSONResponse:
    """``ready`` when the store answers a query at the expected schema (no authentication)."""
    try:
        with state.store.engine.connect() as conn:
            revision = current_revision(conn)
    except sa.exc.SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "detail": "run store unreachable"}, 503)
    if revision != HEAD_REVISION:
        return JSONResponse({"status": "unavailable", "detail": "run store not migrated"}, 503)
    return JSONResponse({"status": "ready"})


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **responses(401)},
)
def metrics(state: State, principal: Viewer) -> Response:
    """Runs launched, HTTP request counts and latency, open streams."""
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, principal: Viewer) -> dict[str, Any]:
    """The OpenAPI document of this API."""
    spec: dict[str, Any] = request.app.openapi()
    return spec
