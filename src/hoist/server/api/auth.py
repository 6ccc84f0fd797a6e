"""Login (session cookie + CSRF token), logout, and who am I."""

from __future__ import annotations

import math
import time

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from hoist.server.api import API_PREFIX
from hoist.server.auth import Principal, forget_tokens_after
from hoist.server.deps import State, Viewer, responses
from hoist.server.errors import ApiError
from hoist.server.schemas import LoginRequest, LoginResult, UserInfo
from hoist.server.state import ServerState

__all__ = ["MAX_FAILURES", "WINDOW", "log_in", "router", "user_info"]

router = APIRouter(
    prefix=f"{API_PREFIX}/auth", tags=["auth"], dependencies=[Depends(forget_tokens_after)]
)

MAX_FAILURES = 5
"""Failed logins allowed per username and client address within :data:`WINDOW`."""
WINDOW = 300.0
"""Seconds over which failed logins are counted."""


def user_info(user: object) -> UserInfo:
    """The API view of an account."""
    return UserInfo.model_validate(user, from_attributes=True)


def log_in(state: ServerState, body: LoginRequest, client: str, response: Response) -> LoginResult:
    """Check a password login (rate-limited per username and client address), open a
    session and set its cookie on ``response``; shared by the API and the panel.

    Raises:
        ApiError: 429 after too many failures (with ``Retry-After``), 401 when wrong.
    """
    key = f"{body.username.lower()}|{client}"
    failures, oldest = state.users.failed_logins(key, WINDOW)
    if failures >= MAX_FAILURES:
        wait = max(1, math.ceil((oldest or time.time()) + WINDOW - time.time()))
        raise ApiError(429, "too many failed logins; try again later", {"Retry-After": str(wait)})
    user = state.users.authenticate(body.username, body.password)
    if user is None:
        state.users.record_failed_login(key, WINDOW)
        raise ApiError(401, "invalid username or password")
    state.users.clear_failed_logins(key)
    session = state.auth.start_session(response, user)
    return LoginResult(user=user_info(user), csrf_token=session.csrf_token, auth="session")


@router.post("/login", response_model=LoginResult, responses=responses(400, 401, 422, 429))
async def login(
    body: LoginRequest, request: Request, response: Response, state: State
) -> LoginResult:
    """Check credentials (JSON body only) and start a session: an HttpOnly, SameSite=Lax
    cookie, plus the CSRF token its unsafe requests must carry in ``X-CSRF-Token``.
    Failed logins are limited per username and address (429 with ``Retry-After``)."""
    if request.query_params:
        raise ApiError(400, "send credentials in the JSON body, never in the URL")
    client = request.client.host if request.client else "unknown"
    return await anyio.to_thread.run_sync(log_in, state, body, client, response)


@router.post("/logout", status_code=204, response_class=Response, responses=responses(401, 403))
def logout(state: State, principal: Viewer) -> Response:
    """End the caller's credential: the session (cookie cleared), or the API token used."""
    response = Response(status_code=204)
    state.auth.end_session(response, principal)
    return response


@router.get("/me", response_model=LoginResult, responses=responses(401))
async def me(principal: Viewer) -> LoginResult:
    """The caller's account and, for a session, its CSRF token."""
    return _me(principal)


def _me(principal: Principal) -> LoginResult:
    return LoginResult(
        user=user_info(principal.user), csrf_token=principal.csrf_token, auth=principal.via
    )
