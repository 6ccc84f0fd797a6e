"""A service's endpoints for its runs' locks, under the reserved prefix ``/-/hoist/``:

- ``GET /-/hoist/runs/{run_id}/locks/{lock_id}``: the open lock (its form's elements,
  its data, phase and expiry); one that has closed as the run's stored lock events tell
  it (``phase`` answered, expired or cancelled, ``user`` who answered, ``ended_at``), so
  its URL stays meaningful; 404 when neither knows it;
- ``POST /-/hoist/runs/{run_id}/locks/{lock_id}`` with ``{"values": {...}}``: 200
  ``{"status": "answered"}``, 422 ``{"errors", "elements"}`` (the lock stays open),
  409 when the lock is gone (answered, expired, cancelled, unknown), 500
  ``{"detail", "error": {"type", "message"}}`` when the app's lease fails with anything
  but ``InputsError`` (a bug: the lock stays open), on every executor alike.

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

from hoist.errors import HoistError
from hoist.runs.models import LockEvent
from hoist.services.identity import Identity, may_answer, request_identity

__all__ = ["LOCK_PATH", "add_lock_routes"]

LOCK_PATH = "/-/hoist/runs/{run_id}/locks/{lock_id}"
"""Where a service answers its runs' locks."""

# The lock events of a run read to tell a closed lock (every phase of ~5,000 locks).
_MAX_LOCK_EVENTS = 20_000


def add_lock_routes(app: FastAPI) -> None:
    """Add the lock endpoints to ``app`` (a ``ServeAPI``, whose executor holds the locks)."""
    app.add_api_route(LOCK_PATH, lock_view, methods=["GET"], include_in_schema=False)
    app.add_api_route(LOCK_PATH, lock_answer, methods=["POST"], include_in_schema=False)


async def lock_view(request: Request, run_id: str, lock_id: str) -> JSONResponse:
    """The open lock, as its answerer is shown it."""
    identity = request_identity(request, run=run_id)
    view = await run_in_threadpool(request.app.service_executor().lock_view, run_id, lock_id)
    if view is None:
        view = await run_in_threadpool(_stored_lock, request.app, run_id, lock_id)
    if view is None:
        return _detail(404, f"run {run_id} has no lock {lock_id}")
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
    if answer.status == "failed":
        error = {"type": answer.error_type, "message": answer.detail}
        detail = f"the lease of this lock failed: {answer.error_type}: {answer.detail}"
        return JSONResponse({"detail": detail, "error": error}, status_code=500)
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


def _stored_lock(app: Any, run_id: str, lock_id: str) -> dict[str, Any] | None:
    """A lock that is no longer open, from the run's stored lock events (``None``: the
    store does not know it, or this service has none: it posts to a server)."""
    runtime = app.service_runtime()
    if runtime.remote:
        return None
    try:
        run = runtime.store.get_run(run_id)
        found = runtime.store.events_of_type(run_id, ["lock"], _MAX_LOCK_EVENTS)
    except HoistError:  # no such run, or the store cannot answer: nothing to show
        return None
    view: dict[str, Any] | None = None
    for event in found:
        if not isinstance(event, LockEvent) or event.lock_id != lock_id:
            continue
        if view is None:
            view = {"run_id": run_id, "lock_id": lock_id, "name": event.name,
                    "run_user": run.meta.get("user")}  # fmt: skip
        view["phase"] = event.phase
        if event.phase != "open":
            view.update(user=event.user, ended_at=event.ts)
    return view


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
