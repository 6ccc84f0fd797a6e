"""The one answer every deployment gives: ``{"status": "success", "output": ...}`` or
``{"status": "error", "error": {"type": ..., "message": ...}}``, built here for every
runner, worker and server of every strategy."""

from __future__ import annotations

from typing import Any

from hoist.plugins.invoke import error_message

__all__ = ["error_envelope", "error_of", "exception_envelope", "success_envelope"]


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
