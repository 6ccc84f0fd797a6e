"""FastAPI dependencies shared by the API's routers (and the panel's pages)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from hoist.server.accounts import Role
from hoist.server.auth import Principal, require
from hoist.server.schemas import ErrorBody
from hoist.server.state import ServerState

__all__ = [
    "ERRORS",
    "Admin",
    "Operator",
    "State",
    "Viewer",
    "get_state",
    "responses",
]


async def get_state(request: Request) -> ServerState:
    """The app's :class:`~hoist.server.state.ServerState`.

    ``async`` (it does no I/O) so that FastAPI does not send it through the thread pool.
    """
    state: ServerState = request.app.state.hoist
    return state


State = Annotated[ServerState, Depends(get_state)]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
"""Any authenticated account."""
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
"""Operators and admins."""
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
"""Admins only."""

ERRORS: dict[int, str] = {
    400: "Bad request (malformed JSON, a path outside the run folder, ...)",
    401: "Not authenticated",
    403: "The account's role does not allow this, or the CSRF token is missing",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Invalid input: `errors` maps each failing field to its messages",
    429: "Too many failed logins; see Retry-After",
    503: "Unavailable for now (the store, or a server busy checking passwords); see Retry-After",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error codes an endpoint can return."""
    return {code: {"model": ErrorBody, "description": ERRORS[code]} for code in codes}
