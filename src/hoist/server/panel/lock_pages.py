"""Answering a run's lock from its page: the ``locks`` part's context (open forms, the
history) and ``POST /runs/{id}/locks/{lock_id}``, a form post with the session's CSRF
token that goes the way the API's answer goes (to the run's service, as the caller).

The inputs are checked against the lock's form here first (types, required fields),
so plain mistakes come back next to their fields without a call; the service then
validates with its ``@app.lease`` and its errors come back the same way (422). A lock
that is gone (answered meanwhile, expired) or a service that does not answer is said
on the run page, never as a bare error.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse

from hoist import forms as F
from hoist.runs.models import Run
from hoist.server.deps import State
from hoist.server.errors import ApiError
from hoist.server.panel.access import PageViewer
from hoist.server.panel.locks import LockView, lock_model, lock_views
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.run_pages import run_page_response
from hoist.server.schemas import ID_PATTERN
from hoist.server.service_calls import ServiceCallError, answer_run_lock, may_answer_lock
from hoist.server.state import ServerState

__all__ = ["router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

RunId = Annotated[str, PathParam(pattern=ID_PATTERN)]
LockId = Annotated[str, PathParam(pattern=ID_PATTERN)]

_GONE = "This question is no longer open (answered, expired or cancelled)."


def _open(state: ServerState, run_id: str, lock_id: str) -> tuple[Run, LockView | None]:
    run = state.store.get_run(run_id)
    found = next((v for v in lock_views(state.store, run.id) if v.lock_id == lock_id), None)
    return run, found


@router.post("/runs/{run_id}/locks/{lock_id}", response_model=None)
async def answer_lock_page(
    request: Request, run_id: RunId, lock_id: LockId, state: State, principal: PageViewer
) -> Response:
    """Answer an open lock (the run's launcher or an operator; CSRF-checked): on success
    back to the run page, which follows the run as it resumes; invalid inputs come back
    next to their fields (422); a lock that is gone (409) or a service that does not
    answer (502) is said on the run page."""
    run, view = await anyio.to_thread.run_sync(_open, state, run_id, lock_id)
    if not may_answer_lock(run, principal):
        raise ApiError(403, "only the user who launched this run, or an operator, can answer")
    data = await request.form()
    if view is None or not view.is_open:
        return await run_page_response(request, state, principal, run.id, status_code=409,
                                       notice=_GONE)  # fmt: skip
    try:
        values = lock_model(view).validate(data, form=True)
    except F.InputsError as exc:
        return await run_page_response(request, state, principal, run.id, status_code=422,
                               posted=(lock_id, data, exc.errors))  # fmt: skip
    except ValueError as exc:  # a form the panel cannot rebuild: the API can still answer
        raise ApiError(409, str(exc)) from None
    try:
        user = principal.user
        answer = await answer_run_lock(state.services, run, lock_id, values,
                                       secret=state.settings.service_secret,
                                       user=user.username, role=str(user.role))  # fmt: skip
    except ServiceCallError as exc:
        note = f"The answer did not reach the service: {exc.message}"
        return await run_page_response(request, state, principal, run.id, status_code=502,
                                       notice=note)  # fmt: skip
    if answer.status == 200:
        return RedirectResponse(f"/runs/{run.id}", 303)
    if answer.status == 422:
        errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
        posted = (lock_id, data, errors if isinstance(errors, dict) else {})
        return await run_page_response(request, state, principal, run.id, status_code=422,
                               posted=posted)  # fmt: skip
    return await run_page_response(request, state, principal, run.id, status_code=409,
                                   notice=_GONE)  # fmt: skip
