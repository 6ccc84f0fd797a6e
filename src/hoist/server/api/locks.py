"""Answers to a service run's lock, forwarded to the run's service.

The server checks what it can from the store before it forwards anything: the run is a
service run, the caller is an operator (or admin) or the user who launched it (the
run's ``meta.user``), the run has not ended and the lock is still open. Then it posts
the values to the run's service (``meta.service.url``, which must be a registered
service's, else 502) with an identity bound to the run; the service validates them (its
lock's form and lease) and its 200, 422 or 409 pass through.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hoist.runs.models import Run, RunKind
from hoist.runs.store import RunStore
from hoist.server import service_calls
from hoist.server.api import API_PREFIX
from hoist.server.auth import Principal
from hoist.server.deps import State, Viewer, responses
from hoist.server.errors import ApiError
from hoist.server.schemas import ID_PATTERN
from hoist.server.state import ServerState

__all__ = ["LockAnswerRequest", "lock_phase", "router"]

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])

RunId = Annotated[str, Path(pattern=ID_PATTERN)]
LockId = Annotated[str, Path(pattern=ID_PATTERN)]
_MAX_LOCK_EVENTS = 10_000


class LockAnswerRequest(BaseModel):
    """The values answering a lock's form."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any] = Field(description="The form's values, by field name.")


def lock_phase(store: RunStore, run_id: str, lock_id: str) -> str | None:
    """The newest phase the store shows for the run's lock (``open``, ``answered``,
    ``expired``, ``cancelled``), or ``None`` when it has no such lock."""
    phase: str | None = None
    for event in store.events_of_type(run_id, ["lock"], _MAX_LOCK_EVENTS):
        if getattr(event, "lock_id", None) == lock_id:
            phase = str(getattr(event, "phase", None))
    return phase


def _checked(state: ServerState, principal: Principal, run_id: str, lock_id: str) -> Run:
    run = state.store.get_run(run_id)
    if run.kind != RunKind.SERVICE:
        raise ApiError(409, f"run {run.id} is not a service run: it has no locks")
    if not service_calls.may_answer_lock(run, principal):
        raise ApiError(403, "only an operator or the user who launched the run may answer")
    if run.status.is_terminal:
        raise ApiError(409, f"run {run.id} has ended ({run.status}): its locks are gone")
    phase = lock_phase(state.store, run.id, lock_id)
    if phase is None:
        raise ApiError(404, f"run {run.id} has no lock {lock_id!r}")
    if phase != "open":
        raise ApiError(409, f"lock {lock_id!r} of run {run.id} is {phase}")
    return run


@router.post(
    "/{run_id}/locks/{lock_id}",
    responses={
        **responses(401, 403, 404, 409, 422),
        200: {"description": 'Answered: `{"status": "answered"}`'},
        502: {"description": "The run's service did not answer or failed"},
    },
)
async def answer_lock(
    run_id: RunId, lock_id: LockId, body: LockAnswerRequest, state: State, principal: Viewer
) -> JSONResponse:
    """Answer an open lock of a service run (operators, or the user who launched it);
    the run's service validates the values (422 with errors by field) and resumes it."""
    run = await anyio.to_thread.run_sync(_checked, state, principal, run_id, lock_id)
    answer = await service_calls.answer_run_lock(
        state.services, run, lock_id, body.values,
        secret=state.settings.service_secret,
        user=principal.user.username, role=str(principal.user.role),
    )  # fmt: skip
    return JSONResponse(answer.body, answer.status, headers=answer.headers)
