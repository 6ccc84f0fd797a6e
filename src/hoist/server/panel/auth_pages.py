"""Login and logout pages: an HTML form that starts the same session (cookie + CSRF
token) as ``POST /api/v1/auth/login``, with the same throttling.

The login form is protected from login CSRF (another site posting its own credentials so
that the victim works in the attacker's account) by a signed double submit: the form's
page sets a random pre-session cookie (:data:`LOGIN_COOKIE`, ``SameSite=Strict``) and
carries a token the server signed for that cookie; ``POST /login`` checks the pair
before it looks at the credentials.
"""

from __future__ import annotations

import secrets
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from hoist.server.api.auth import log_in
from hoist.server.auth import CSRF_FIELD, SESSION_COOKIE
from hoist.server.deps import State
from hoist.server.errors import ApiError
from hoist.server.panel.access import DEFAULT_PAGE, PageViewer, safe_next
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.templating import render_page
from hoist.server.schemas import LoginRequest
from hoist.server.state import ServerState

__all__ = ["LOGIN_COOKIE", "LOGIN_FORM_TTL", "router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

LOGIN_COOKIE = "hoist_login"
"""The pre-session cookie the login form's token is bound to."""
LOGIN_FORM_TTL = 3600
"""Seconds a login form stays valid."""


@router.get("/")
def home() -> RedirectResponse:
    """The panel's front page is the runs list."""
    return RedirectResponse(DEFAULT_PAGE, 303)


@router.get("/login", response_model=None)
async def login_form(
    request: Request,
    state: State,
    next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    """The login form; a visitor with a valid session goes straight to ``next``."""
    target = safe_next(next_)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is not None:
        logged_in: bool = await anyio.to_thread.run_sync(_has_session, state, cookie)
        if logged_in:
            return RedirectResponse(target, 303)
    return _login_page(request, state, target, "", None)


def _login_page(
    request: Request,
    state: ServerState,
    target: str,
    username: str,
    error: str | None,
    status_code: int = 200,
) -> Response:
    """The login form with a fresh pre-session cookie and the token signed for it."""
    nonce = secrets.token_urlsafe(32)
    page = render_page(request, "login.html", None, status_code=status_code, next=target,
                       username=username, error=error,
                       login_token=state.auth.login_form_token(nonce))  # fmt: skip
    page.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_FORM_TTL, path="/login", httponly=True,
                    samesite="strict", secure=state.auth.secure_cookies)  # fmt: skip
    return page


def _has_session(state: ServerState, cookie: str) -> bool:
    return state.auth.authenticate(None, cookie) is not None


@router.post("/login", response_model=None)
async def login(
    request: Request,
    state: State,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    next_: Annotated[str, Form(alias="next", max_length=2000)] = DEFAULT_PAGE,
    form_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=500)] = "",
) -> Response:
    """Check the form's token against its pre-session cookie (403 and a fresh form when
    they do not match), then the credentials; on success set the session cookie and
    redirect to ``next`` (a local path only: anything else goes to the runs list)."""
    target = safe_next(next_)
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not state.auth.login_form_matches(nonce, form_token, LOGIN_FORM_TTL):
        error = "This login form has expired or did not come from this site; please log in again."
        return _login_page(request, state, target, username, error, 403)
    response = RedirectResponse(target, 303)
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict",
                           secure=state.auth.secure_cookies)  # fmt: skip
    client = request.client.host if request.client else "unknown"
    try:
        body = LoginRequest(username=username, password=password)
        await anyio.to_thread.run_sync(log_in, state, body, client, response)
    except ValidationError:
        error, status, headers = "Enter a username and a password.", 422, {}
    except ApiError as exc:
        error, status, headers = exc.message, exc.status_code, exc.headers
    else:
        return response
    page = _login_page(request, state, target, username, error, status)
    if "Retry-After" in headers:
        page.headers["Retry-After"] = headers["Retry-After"]
    return page


@router.post("/logout")
def logout(state: State, principal: PageViewer) -> RedirectResponse:
    """End the session (the form carries the CSRF token) and go to the login page."""
    response = RedirectResponse("/login", 303)
    state.auth.end_session(response, principal)
    return response
