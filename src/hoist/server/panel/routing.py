"""The panel's route class: errors raised while serving a page (including those from
its dependencies) become redirects and HTML error pages, never JSON."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from hoist.errors import HoistError, NotFoundError, ResumeError, UserInputError
from hoist.server.errors import ApiError
from hoist.server.panel.access import LoginRequired, login_url
from hoist.server.panel.templating import page_headers, render

__all__ = ["PanelRoute", "error_page"]

_log = logging.getLogger("hoist.server.panel")


def error_page(status_code: int, message: str) -> HTMLResponse:
    """A small HTML page explaining why a request was refused."""
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict",
              422: "Invalid request", 429: "Too many attempts", 500: "Server error",
              503: "Unavailable"}  # fmt: skip
    html = render(
        "error.html",
        title=titles.get(status_code, "Error"),
        status_code=status_code,
        message=message,
        user=None,
        csrf_token=None,
        can_operate=False,
        path="",
    )
    return HTMLResponse(html, status_code, headers=page_headers())


def _status_of(exc: HoistError) -> int:
    if isinstance(exc, ApiError):
        return exc.status_code
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ResumeError):
        return 409
    if isinstance(exc, UserInputError):
        return 400
    return 500


class PanelRoute(APIRoute):
    """An ``APIRoute`` whose failures are pages: a missing login redirects to
    ``/login?next=...``, a refusal renders the error page with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, wrapped to turn exceptions into pages."""
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(login_url(exc.next_path), 303)
            except RequestValidationError:
                return error_page(404, "No such page (a malformed id or parameter).")
            except HoistError as exc:
                status = _status_of(exc)
                if status >= 500:
                    error_id = secrets.token_hex(6)
                    _log.error("panel error %s: %s", error_id, exc, exc_info=exc)
                    return error_page(status, f"Something went wrong (error {error_id}).")
                return error_page(status, exc.message)

        return page
