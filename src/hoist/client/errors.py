"""Errors of the Hoist client: HTTP answers mapped to Hoist errors.

The tree (beside the core errors the client also raises)::

    HoistError
    ├── APIError                  .status_code, .detail, .body: any refused request
    │   ├── AuthError             401: missing, invalid or revoked credentials
    │   │   └── RateLimitedError  429: too many failed logins; .retry_after (s)
    │   ├── PermissionDeniedError 403: the account's role does not allow it
    │   ├── BadRequestError       400 (also a UserInputError)
    │   ├── ConflictError         409 (also a UserInputError)
    │   └── ServerError           5xx; .error_id names the server's log entry
    ├── ParamsValidationError     422, with .field_errors
    └── NotFoundError             404: RunNotFoundError, PluginNotFoundError, ...
"""

from __future__ import annotations

from typing import Any

import httpx

from hoist.errors import (
    ActionNotFoundError,
    HoistError,
    NotFoundError,
    ParamsValidationError,
    PluginNotFoundError,
    RunNotFoundError,
    UserInputError,
)

__all__ = [
    "APIError",
    "AuthError",
    "BadRequestError",
    "ConflictError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
    "error_from_response",
]


class APIError(HoistError):
    """The server refused a request.

    Attributes:
        status_code: the HTTP status.
        detail: the server's message.
        body: the decoded error body (``{"detail": ..., ...}``).
    """

    def __init__(self, status_code: int, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.body = body or {}


class AuthError(APIError):
    """401: no credentials, or they are invalid, revoked, expired or their user inactive."""


class RateLimitedError(AuthError):
    """429: too many failed logins.

    Attributes:
        retry_after: seconds to wait before trying again.
    """

    def __init__(self, detail: str, body: dict[str, Any], retry_after: float | None) -> None:
        super().__init__(429, detail, body)
        self.retry_after = retry_after


class PermissionDeniedError(APIError):
    """403: the account's role does not allow this (or a session request lacks CSRF)."""


class BadRequestError(APIError, UserInputError):
    """400: the request is malformed (bad JSON, a path outside a run folder, ...)."""


class ConflictError(APIError, UserInputError):
    """409: the request conflicts with the current state (a run already ended, ...)."""


class ServerError(APIError):
    """5xx: the server failed.

    Attributes:
        error_id: the id under which the server logged the failure.
    """

    @property
    def error_id(self) -> str | None:
        value = self.body.get("error_id")
        return value if isinstance(value, str) else None


_NOT_FOUND: dict[str, type[NotFoundError]] = {
    "run": RunNotFoundError,
    "plugin": PluginNotFoundError,
    "action": ActionNotFoundError,
}


class _RemoteNotFoundError(NotFoundError):
    """A 404 for something the client has no dedicated class for (user, token, ...)."""

    def __init__(self, kind: str, name: str, detail: str) -> None:
        self.kind = kind
        super().__init__(name)
        self.message = detail
        self.args = (detail,)


def error_from_response(response: httpx.Response) -> HoistError:
    """The Hoist error for an error response (``response`` must have been read)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or response.reason_phrase or "error")
    status = response.status_code
    if status == 422 and isinstance(body.get("errors"), dict):
        return ParamsValidationError(body["errors"])
    if status == 404:
        kind, name = str(body.get("kind") or ""), str(body.get("name") or "")
        cls = _NOT_FOUND.get(kind)
        if cls is not None:
            error = cls(name)
            error.message = detail
            return error
        return _RemoteNotFoundError(kind or "item", name or response.url.path, detail)
    if status == 401:
        return AuthError(status, detail, body)
    if status == 429:
        retry = response.headers.get("retry-after")
        return RateLimitedError(detail, body, float(retry) if retry and retry.isdigit() else None)
    if status == 403:
        return PermissionDeniedError(status, detail, body)
    if status == 409:
        return ConflictError(status, detail, body)
    if status >= 500:
        return ServerError(status, detail, body)
    if status == 400:
        return BadRequestError(status, detail, body)
    return APIError(status, detail, body)
