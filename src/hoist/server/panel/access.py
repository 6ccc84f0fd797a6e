"""Who may see a page: session logins for HTML routes, safe redirect targets, and the
exceptions the panel's route class turns into redirects and HTML error pages.

Built on the server's own :func:`~hoist.server.auth.current_principal`, so pages and the
API share one rule for sessions and CSRF tokens.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request

from hoist.server.accounts import Role
from hoist.server.auth import SESSION_COOKIE, Principal, current_principal
from hoist.server.errors import ApiError

__all__ = [
    "DEFAULT_PAGE",
    "LoginRequired",
    "PageOperator",
    "PageViewer",
    "login_url",
    "page_principal",
    "safe_next",
]

DEFAULT_PAGE = "/runs"
"""Where a login (or a refused ``next``) leads."""


class LoginRequired(Exception):
    """The page needs a login; the panel's route class redirects to the login page.

    Attributes:
        next_path: the local path (with query) to come back to.
    """

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this server, else :data:`DEFAULT_PAGE`.

    Accepted: a relative reference that starts with exactly one ``/`` and names no
    scheme or host. Refused: ``//host``, ``/\\host`` (browsers read ``\\`` as ``/``),
    ``http://...``, ``javascript:...``, and anything with control characters.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return DEFAULT_PAGE
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return DEFAULT_PAGE
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_PAGE
    return value


def login_url(next_path: str) -> str:
    """The login page's URL, coming back to ``next_path`` afterwards."""
    return "/login?next=" + quote(safe_next(next_path), safe="/")


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def page_principal(request: Request) -> Principal:
    """The logged-in caller of a page (session cookie; unsafe methods must carry the
    session's CSRF token as form field ``csrf_token``).

    Raises:
        LoginRequired: no valid session (a GET comes back here after logging in).
        ApiError: 403 for a missing or wrong CSRF token.
    """
    try:
        return await current_principal(request, None, request.cookies.get(SESSION_COOKIE))
    except ApiError as exc:
        if exc.status_code != 401:
            raise
        back = _here(request) if request.method == "GET" else DEFAULT_PAGE
        raise LoginRequired(back) from exc


async def page_operator(principal: Annotated[Principal, Depends(page_principal)]) -> Principal:
    """The caller, who must be an operator or admin (a 403 page otherwise)."""
    if not principal.user.role.allows(Role.OPERATOR):
        raise ApiError(403, "this needs the operator role")
    return principal


PageViewer = Annotated[Principal, Depends(page_principal)]
"""Any logged-in account."""
PageOperator = Annotated[Principal, Depends(page_operator)]
"""Operators and admins."""
