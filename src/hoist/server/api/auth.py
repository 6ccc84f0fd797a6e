"""Login (session cookie + CSRF token), logout, and who am I.

A login is throttled before its password is checked: per client address (a delay that
doubles per failure) and, far more loosely, per account, counted atomically in the store
(:mod:`hoist.server.accounts.throttle`); and it waits for the bounded hashing pool, or is
refused with 503 when the pool's queue is full (:mod:`hoist.server.accounts.passwords`).
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from hoist.server.accounts import HashingBusyError
from hoist.server.api import API_PREFIX
from hoist.server.auth import Principal, forget_tokens_after
from hoist.server.deps import State, Viewer, responses
from hoist.server.errors import ApiError
from hoist.server.schemas import LoginRequest, LoginResult, UserInfo
from hoist.server.state import ServerState

__all__ = ["log_in", "router", "user_info"]

router = APIRouter(
    prefix=f"{API_PREFIX}/auth", tags=["auth"], dependencies=[Depends(forget_tokens_after)]
)


def user_info(user: object) -> UserInfo:
    """The API view of an account."""
    return UserInfo.model_validate(user, from_attributes=True)


def log_in(state: ServerState, body: LoginRequest, client: str, response: Response) -> LoginResult:
    """Check a password login (throttled per client address and per account), open a
    session and set its cookie on ``response``; shared by the API and the panel.

    Raises:
        ApiError: 429 while throttled (with ``Retry-After``), 401 when wrong, 503 when
            every place in the hashing pool is taken (with ``Retry-After``).
    """
    users = state.users
    try:
        with users.hashing.admit():
            attempt = users.throttle.attempt(client, body.username)
            if attempt.retry_after is not None:
                headers = {"Retry-After": str(attempt.retry_after)}
                raise ApiError(429, "too many failed logins; try again later", headers)
            user = users.authenticate(body.username, body.password)
            if user is None:
                users.throttle.failed(attempt)
                raise ApiError(401, "invalid username or password")
            users.throttle.succeeded(attempt)
    except HashingBusyError as exc:
        raise ApiError(503, exc.message, {"Retry-After": str(exc.retry_after)}) from None
    session = state.auth.start_session(response, user)
    return LoginResult(user=user_info(user), csrf_token=session.csrf_token, auth="session")


@router.post("/login", response_model=LoginResult, responses=responses(400, 401, 422, 429, 503))
async def login(
    body: LoginRequest, request: Request, response: Response, state: State
) -> LoginResult:
    """Check credentials (JSON body only) and start a session: an HttpOnly, SameSite=Lax
    cookie, plus the CSRF token its unsafe requests must carry in ``X-CSRF-Token``.
    Failed logins slow down the next tries from the same address (429 with
    ``Retry-After``, doubling per failure), and far more loosely those of the account; a
    server busy checking other passwords answers 503 with ``Retry-After``."""
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
