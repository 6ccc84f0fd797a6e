"""The one answer every deployment gives: ``{"status": "success", "output": ...}`` or
``{"status": "error", "error": {"type": ..., "message": ...}}``, built here for every
runner, worker and server of every strategy."""

from __future__ import annotations

import json
from typing import Any

from hoist.plugins.invoke import error_message

__all__ = [
    "error_envelope",
    "error_of",
    "exception_envelope",
    "http_envelope",
    "success_envelope",
]


def success_envelope(output: Any) -> dict[str, Any]:
    """``{"status": "success", "output": output}``."""
    return {"status": "success", "output": output}


def error_envelope(error_type: str, message: str, **extra: Any) -> dict[str, Any]:
    """``{"status": "error", "error": {"type", "message", **extra}}``."""
    return {"status": "error", "error": {"type": error_type, "message": message, **extra}}


def error_of(exc: BaseException) -> dict[str, str]:
    """``{"type", "message"}`` of an exception: Hoist's own and builtin errors by their
    bare name, any other by ``module.Qualname``; the message never empty."""
    cls = type(exc)
    module = cls.__module__
    bare = module == "builtins" or module.startswith("hoist.")
    name = cls.__qualname__ if bare else f"{module}.{cls.__qualname__}"
    return {"type": name, "message": error_message(exc)}


def exception_envelope(exc: BaseException, **extra: Any) -> dict[str, Any]:
    """The error envelope of ``exc`` (see :func:`error_of`), with ``extra`` fields."""
    error = error_of(exc)
    return error_envelope(error["type"], error["message"], **extra)


def http_envelope(answer: Any) -> dict[str, Any]:
    """The envelope of an HTTP answer (an ``httpx.Response``).

    A body that is an envelope is the answer (a 422 or 500 error envelope included; a
    ``success`` with a non-2xx status is not trusted); any other 2xx body is the output;
    any other status is an ``HTTP <code>`` error carrying the body (its ``detail``).
    """
    try:
        body = answer.json()
    except ValueError:
        body = answer.text
    if isinstance(body, dict) and body.get("status") in ("success", "error"):
        if body["status"] == "success" and answer.is_success:
            return body
        if body["status"] == "error" and isinstance(body.get("error"), dict):
            return body
    if answer.is_success:
        return success_envelope(body)
    detail = body.get("detail", body) if isinstance(body, dict) else body
    message = detail if isinstance(detail, str) else json.dumps(detail)
    return error_envelope(f"HTTP {answer.status_code}", message)
