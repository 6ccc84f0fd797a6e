"""Errors to HTTP, in one place: domain code raises Hoist errors and knows no status codes.

Every error body has the shape ``{"detail": str, ...}``; validation errors add
``"errors": {field: [messages]}``, not-found errors add ``"kind"`` and ``"name"``, and an
unexpected exception becomes a 500 with a generic message and an ``error_id`` that is
logged with the traceback server-side (a traceback never reaches a response).

Failures below the domain are mapped here too, never left to become a 500: a stray
``OSError`` by its errno (a name too long: 400, a missing file: 404, a read-only, full or
failing disk: 503 with ``Retry-After``), and a database that is unreachable or refuses
writes (SQLAlchemy's operational errors) like a :class:`~hoist.errors.StoreError`: 503.
Neither tells the caller a server path.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException

from hoist.errors import (
    DeploymentError,
    HoistError,
    NotFoundError,
    ParamsValidationError,
    ResumeError,
    StoreError,
    StoreUnwritableError,
    StrategyDefinitionError,
    UnknownModeError,
    UserInputError,
    field_errors_from_pydantic,
)
from hoist.server.accounts.models import (
    AccountConflictError,
    HashingBusyError,
    WeakPasswordError,
)
from hoist.server.service_calls import ServiceCallError
from hoist.server.service_models import ServiceExistsError

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
    if isinstance(exc, HashingBusyError):  # a login flood: come back, nothing is wrong
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(_body(exc.message), 503, headers=headers)
    if isinstance(exc, WeakPasswordError):
        return JSONResponse(_body("the password breaks the rules", errors=exc.field_errors), 422)
    if isinstance(exc, ParamsValidationError):
        return JSONResponse(_body("invalid params", errors=exc.field_errors), 422)
    if isinstance(exc, UnknownModeError):
        return JSONResponse(_body(exc.message, errors={"mode": [exc.message]}), 422)
    if isinstance(exc, StrategyDefinitionError):  # the server's folder, not the request
        return JSONResponse(_body(broken_strategy(exc)), 409)
    if isinstance(exc, NotFoundError):
        extra = {"kind": exc.kind, "name": exc.name, "suggestions": exc.suggestions}
        return JSONResponse(_body(exc.message, **extra), 404)
    if isinstance(exc, (ResumeError, AccountConflictError, ServiceExistsError)):
        return JSONResponse(_body(exc.message), 409)
    if isinstance(exc, DeploymentError):  # not running, not reachable, a deploy step failed
        return JSONResponse(_body(exc.message), 409)
    if isinstance(exc, ServiceCallError):  # a registered service failed a forwarded call
        return JSONResponse(_body(exc.message), 502)
    if isinstance(exc, UserInputError):
        return JSONResponse(_body(exc.message), 400)
    if isinstance(exc, StoreUnwritableError):
        return _unavailable(exc, "the run store is not writable")
    if isinstance(exc, StoreError):
        return _unavailable(exc, "the run store is unavailable")
    return _internal(exc)


def broken_strategy(exc: StrategyDefinitionError) -> str:
    """What a caller is told of a broken strategy folder: its file's name and key, never
    the server's path."""
    where = os.path.basename(exc.path) + (f", key {exc.key!r}" if exc.key else "")
    return f"strategy {exc.strategy!r} is broken ({where}): {exc.problem}"


#: Seconds a client is asked to wait after a 503 (the store or the disk may recover).
RETRY_AFTER = 5
_READ_ONLY = ("readonly", "read-only", "read only")
#: A stray ``OSError`` by errno: ``(status, what the caller is told)``; 503 otherwise.
_OS_ERRORS: dict[int, tuple[int, str]] = {
    errno.ENAMETOOLONG: (400, "a file name or path is too long for the server's file system"),
    errno.ENOENT: (404, "no such file on the server"),
    errno.ENOTDIR: (404, "no such file on the server"),
    errno.EROFS: (503, "the server's storage is read-only"),
    errno.EACCES: (503, "the server may not write its files (permission denied)"),
    errno.EPERM: (503, "the server may not write its files (operation not permitted)"),
    errno.ENOSPC: (503, "the server's storage is full"),
    errno.EDQUOT: (503, "the server's storage quota is exhausted"),
}
#: SQLAlchemy errors that mean the database cannot serve now (unreachable, locked,
#: read-only, out of connections), not that a query is wrong.
_STORE_DOWN = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.InternalError,
    sa_exc.TimeoutError,
)


def os_error_response(exc: OSError) -> JSONResponse:
    """The response for an ``OSError`` no route handled (its file name is not told)."""
    known = _OS_ERRORS.get(exc.errno or 0)
    if known is None:
        reason = os.strerror(exc.errno) if exc.errno else "an I/O error"
        known = (503, f"the server's storage failed ({reason})")
    status, detail = known
    if status == 503:
        return _unavailable(exc, detail)
    return JSONResponse(_body(detail), status)


def database_error_response(exc: Exception) -> JSONResponse:
    """The response for a database error: 503 when the database cannot serve now (the
    message says when it refuses writes), else an internal error."""
    if not isinstance(exc, _STORE_DOWN):
        return _internal(exc)
    cause = str(getattr(exc, "orig", None) or exc).lower()
    if any(word in cause for word in _READ_ONLY):
        return _unavailable(exc, "the run store is not writable")
    return _unavailable(exc, "the run store is unavailable")


def _unavailable(exc: BaseException, detail: str) -> JSONResponse:
    error_id = _log_unexpected(exc)
    headers = {"Retry-After": str(RETRY_AFTER)}
    return JSONResponse(_body(detail, error_id=error_id), 503, headers=headers)


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

    async def on_os_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OSError)
        return os_error_response(exc)

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        return database_error_response(exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal(exc)

    app.add_exception_handler(HoistError, on_hoist_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(OSError, on_os_error)
    app.add_exception_handler(sa_exc.DBAPIError, on_database_error)
    app.add_exception_handler(sa_exc.TimeoutError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
