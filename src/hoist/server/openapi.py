"""The API's description tells the truth: the OpenAPI document names every error a
route can answer with Hoist's one error body, and a method a path does not take gets a
405 whose ``Allow`` lists every method the path does take.

FastAPI documents each route's 422 as its own ``HTTPValidationError``, which Hoist never
sends (:mod:`hoist.server.errors` answers with :class:`~hoist.server.schemas.ErrorBody`),
and knows nothing of what the server's middleware and error handlers add: 400 for a
body that is not JSON, 413 for one over the size limit, 401 for a missing credential.
:func:`install_openapi` adds these to the generated document, once, in one place, so
that routes list only what they decide themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.routing import Match

from hoist.server.deps import ERRORS

__all__ = ["allowed_methods", "install_openapi"]

_ERROR_REF = "#/components/schemas/ErrorBody"
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")
_BODY_ERRORS = (400, 413, 422)  # malformed, too large, invalid
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_TRIED = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")  # what routes are made for


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": ERRORS[code],
        "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
    }


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with FastAPI's validation-error model replaced by Hoist's error body and
    the errors every route can answer with added where they are missing."""
    for methods in spec.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in _METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            codes: set[int] = set()
            if "requestBody" in operation:
                codes.update(_BODY_ERRORS)
            if operation.get("parameters"):
                codes.add(422)
            if operation.get("security"):
                codes.add(401)
            for code in sorted(codes):
                responses.setdefault(str(code), _error_response(code))
            for status, response in responses.items():
                for media in response.get("content", {}).values():
                    if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                        response.update(_error_response(int(status)))
    schemas = spec.get("components", {}).get("schemas", {})
    for name in _FASTAPI_422:
        schemas.pop(name, None)
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`document_errors`' document as ``app.openapi()``, and answer a method a
    path does not take with 405 and the path's full ``Allow``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_errors(spec)
        return app.openapi_schema

    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        allowed = allowed_methods(request.app, request.scope)
        detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
        return JSONResponse({"detail": detail}, 405, headers={"Allow": ", ".join(allowed)})

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(405, method_not_allowed)


def allowed_methods(app: FastAPI, scope: Any) -> list[str]:
    """Every method some route of ``app`` takes at ``scope``'s path (Starlette's own 405
    lists only the first matching route's): each method is tried against the router."""
    allowed = []
    for method in _TRIED:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed
