"""What a :class:`~hoist.services.app.ServeAPI` endpoint answers besides its result: the
JSON error answers (invalid inputs by field, with the form's elements; any other error),
the form stored on an enter endpoint's route, and the call of an enter handler with the
``request`` and ``inputs`` it names."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hoist import forms as F
from hoist.errors import ParamsValidationError
from hoist.services.forms_io import elements_json

__all__ = [
    "FORM_ATTR",
    "describe",
    "error_response",
    "handler_caller",
    "inputs_error_response",
    "params_error",
    "route_form",
]

FORM_ATTR = "hoist_form"
"""The attribute of an enter endpoint's route that holds its form."""


def route_form(route: Any) -> F.Model | None:
    """The form of an enter endpoint's route (``None`` for any other route)."""
    form = getattr(route, FORM_ATTR, None)
    return form if isinstance(form, F.Model) else None


def error_response(status: int, detail: str, **extra: Any) -> JSONResponse:
    """A JSON error answer ``{"detail": ..., **extra}``."""
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def inputs_error_response(
    errors: Mapping[str, list[str]], form: F.Model | None = None
) -> JSONResponse:
    """The 422 answer of invalid inputs: ``{"errors": {field: [...]}, "elements": [...]}``
    (the elements of ``form``, to show the errors next to its fields)."""
    body: dict[str, Any] = {"errors": {k: list(v) for k, v in errors.items() if v}}
    body["elements"] = elements_json(form) if form is not None else []
    return JSONResponse(body, status_code=422)


async def params_error(request: Request, exc: Exception) -> Response:
    """The exception handler of :class:`~hoist.errors.ParamsValidationError` raised by a
    ``Launch`` (or handler) in a plain route of a ``ServeAPI``: the 422 of invalid inputs."""
    assert isinstance(exc, ParamsValidationError)
    return inputs_error_response(exc.field_errors, route_form(request.scope.get("route")))


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception (the type alone when it has no message)."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def handler_caller(func: Callable[..., Any]) -> Callable[[Request, dict[str, Any]], Awaitable[Any]]:
    """Call ``func`` with the ``request`` and/or ``inputs`` it names (sync handlers on a
    worker thread, so they may block)."""
    params = inspect.signature(func).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    wanted = [n for n in ("request", "inputs") if takes_all or n in params]
    for name, param in params.items():
        optional = param.default is not inspect.Parameter.empty or param.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )
        if name not in ("request", "inputs") and not optional:
            raise TypeError(
                f"enter handler {func.__qualname__} takes {name!r}: it may take only "
                "'request' and 'inputs'"
            )
    is_async = inspect.iscoroutinefunction(func)

    async def call(request: Request, inputs: dict[str, Any]) -> Any:
        given = {"request": request, "inputs": inputs}
        kwargs = {name: given[name] for name in wanted}
        result = await func(**kwargs) if is_async else await run_in_threadpool(func, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    return call
