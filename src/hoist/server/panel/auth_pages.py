"""Login and logout pages: an HTML form that starts the same session (cookie + CSRF
token) as ``POST /api/v1/auth/login``, with the same per-user rate limit."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from hoist.server.api.auth import log_in
from hoist.server.auth import SESSION_COOKIE
from hoist.server.deps import State
from hoist.server.errors import ApiError
from hoist.server.panel.access import DEFAULT_PAGE, PageViewer, safe_next
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.templating import render_page
from hoist.server.schemas import LoginRequest
from hoist.server.state import ServerState

__all__ = ["router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)


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
    return render_page(request, "login.html", None, next=target, username="", error=None)


def _has_session(state: ServerState, cookie: str) -> bool:
    return state.auth.authenticate(None, cookie) is not None


@router.post("/login", response_model=None)
async def login(
    request: Request,
    state: State,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    next_: Annotated[str, Form(alias="next", max_length=2000)] = DEFAULT_PAGE,
) -> Response:
    """Check the credentials; on success set the session cookie and redirect to ``next``
    (a local path only: anything else goes to the runs list)."""
    target = safe_next(next_)
    response = RedirectResponse(target, 303)
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
    page = render_page(request, "login.html", None, status_code=status, next=target,
                       username=username, error=error)  # fmt: skip
    if "Retry-After" in headers:
        page.headers["Retry-After"] = headers["Retry-After"]
    return page


@router.post("/logout")
def logout(state: State, principal: PageViewer) -> RedirectResponse:
    """End the session (the form carries the CSRF token) and go to the login page."""
    response = RedirectResponse("/login", 303)
    state.auth.end_session(response, principal)
    return response
