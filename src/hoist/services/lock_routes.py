"""A service's endpoints for its runs' locks, under the reserved prefix ``/-/hoist/``:

- ``GET /-/hoist/runs/{run_id}/locks/{lock_id}``: the open lock (its form's elements,
  its data, phase and expiry), or 404;
- ``POST /-/hoist/runs/{run_id}/locks/{lock_id}`` with ``{"values": {...}}``: 200
  ``{"status": "answered"}``, 422 ``{"errors", "elements"}`` (the lock stays open),
  409 when the lock is gone (answered, expired, cancelled, unknown).

With a secret, the app asks for a signed identity (401 without a valid one) and lets
only the user who launched the run, or an operator or admin, see and answer its locks
(403); without one (local development) anyone may. The routes are not service entries:
they are left out of the OpenAPI document, so discovery never lists them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hoist.services.identity import Identity, may_answer, request_identity

__all__ = ["LOCK_PATH", "add_lock_routes"]

LOCK_PATH = "/-/hoist/runs/{run_id}/locks/{lock_id}"
"""Where a service answers its runs' locks."""


def add_lock_routes(app: FastAPI) -> None:
    """Add the lock endpoints to ``app`` (a ``ServeAPI``, whose executor holds the locks)."""
    app.add_api_route(LOCK_PATH, lock_view, methods=["GET"], include_in_schema=False)
    app.add_api_route(LOCK_PATH, lock_answer, methods=["POST"], include_in_schema=False)


async def lock_view(request: Request, run_id: str, lock_id: str) -> JSONResponse:
    """The open lock, as its answerer is shown it."""
    identity = request_identity(request, run=run_id)
    view = await run_in_threadpool(request.app.service_executor().lock_view, run_id, lock_id)
    if view is None:
        return _detail(404, f"run {run_id} has no open lock {lock_id}")
    refused = _refused(request, identity, view)
    if refused is not None:
        return refused
    view.pop("run_user", None)
    return JSONResponse(jsonable_encoder(view))


async def lock_answer(request: Request, run_id: str, lock_id: str) -> JSONResponse:
    """Answer the open lock with the body's ``values``."""
    identity = request_identity(request, run=run_id)
    executor = request.app.service_executor()
    view = await run_in_threadpool(executor.lock_view, run_id, lock_id)
    if view is None:
        return _detail(409, f"run {run_id} has no open lock {lock_id}: it is gone")
    refused = _refused(request, identity, view)
    if refused is not None:
        return refused
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("values"), dict):
        errors = {"_global_": ['the body must be a JSON object {"values": {...}}']}
        return JSONResponse({"errors": errors, "elements": view["elements"]}, status_code=422)
    user = identity.user if identity is not None else None
    answer = await run_in_threadpool(executor.answer, run_id, lock_id, body["values"], user)
    if answer.status == "answered":
        return JSONResponse({"status": "answered"})
    if answer.status == "errors":
        return JSONResponse({"errors": answer.errors, "elements": answer.elements},
                            status_code=422)  # fmt: skip
    return _detail(409, answer.detail or f"lock {lock_id} is gone")


def _refused(
    request: Request, identity: Identity | None, view: dict[str, Any]
) -> JSONResponse | None:
    """403 when a verified identity may not answer this run's locks (``None``: it may,
    or the app has no secret and runs everything as anonymous)."""
    if identity is None or may_answer(identity.user, identity.role, view.get("run_user")):
        return None
    return _detail(
        403, f"{identity.user} may not answer this run's locks: only the user who "
        "launched it, or an operator or admin, may",
    )  # fmt: skip


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
