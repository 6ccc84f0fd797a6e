"""Errors to HTTP, in one place: domain code raises Hoist errors and knows no status codes.

Every error body has the shape ``{"detail": str, ...}``; validation errors add
``"errors": {field: [messages]}``, not-found errors add ``"kind"`` and ``"name"``, and an
unexpected exception becomes a 500 with a generic message and an ``error_id`` that is
logged with the traceback server-side (a traceback never reaches a response).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hoist.errors import (
    HoistError,
    NotFoundError,
    ParamsValidationError,
    ResumeError,
    StoreError,
    UnknownModeError,
    UserInputError,
    field_errors_from_pydantic,
)
from hoist.server.accounts.models import AccountConflictError

__all__ = ["ApiError", "install_error_handlers"]

_log = logging.getLogger("hoist.server")


class ApiError(HoistError):
    """An HTTP-level refusal raised by the server itself (auth, limits, conflicts).

    Attributes:
        status_code: the response status.
        headers: extra response headers (e.g. ``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self, status_code: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.headers = headers or {}


def _body(detail: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, **extra}


def hoist_error_response(exc: HoistError) -> JSONResponse:
    """The response for a Hoist error (most specific class first)."""
    if isinstance(exc, ApiError):
        return JSONResponse(_body(exc.message), exc.status_code, headers=exc.headers)
    if isinstance(exc, ParamsValidationError):
        return JSONResponse(_body("invalid params", errors=exc.field_errors), 422)
    if isinstance(exc, UnknownModeError):
        return JSONResponse(_body(exc.message, errors={"mode": [exc.message]}), 422)
    if isinstance(exc, NotFoundError):
        extra = {"kind": exc.kind, "name": exc.name, "suggestions": exc.suggestions}
        return JSONResponse(_body(exc.message, **extra), 404)
    if isinstance(exc, (ResumeError, AccountConflictError)):
        return JSONResponse(_body(exc.message), 409)
    if isinstance(exc, UserInputError):
        return JSONResponse(_body(exc.message), 400)
    if isinstance(exc, StoreError):
        error_id = _log_unexpected(exc)
        return JSONResponse(_body("the run store is unavailable", error_id=error_id), 503)
    return _internal(exc)


def _log_unexpected(exc: BaseException) -> str:
    error_id = secrets.token_hex(6)
    _log.error("error %s: %s", error_id, exc, exc_info=exc)
    return error_id


def _internal(exc: BaseException) -> JSONResponse:
    error_id = _log_unexpected(exc)
    return JSONResponse(_body("internal server error", error_id=error_id), 500)


def validation_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    """``{field: [messages]}`` for a request that failed validation; the location prefix
    (``body``, ``query``, ``path``) is kept only where it is the whole path."""
    errors = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        if len(loc) > 1:
            loc = loc[1:]
        errors.append({**err, "loc": loc})
    return field_errors_from_pydantic(errors)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error a request can raise to a JSON response."""

    async def on_hoist_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HoistError)
        return hoist_error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            return JSONResponse(_body("malformed JSON body"), 400)
        return JSONResponse(_body("invalid request", errors=validation_errors(exc)), 422)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse(_body(str(exc.detail)), exc.status_code, headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal(exc)

    app.add_exception_handler(HoistError, on_hoist_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
