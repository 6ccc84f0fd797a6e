"""Run one action against a context: the part every executor (and every Ray worker)
shares, and the one place that records how a run ends.

:func:`recorded` moves a run through ``running`` to its terminal status: the value the
body hands its :class:`Outcome` becomes the result (``succeeded``); an exception becomes
an error with its traceback (``failed``); a cancel, ``cancelled``. Actions
(:func:`invoke_action`) and service entry points (``hoist.services``) both run inside it.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ValidationError

from hoist.errors import (
    ActionFailedError,
    ResultValidationError,
    RunCancelledError,
    field_errors_from_pydantic,
)
from hoist.plugins.action import BaseAction
from hoist.plugins.awaitables import resolve
from hoist.plugins.context import RuntimeContext
from hoist.plugins.integrations.base import detach_all
from hoist.runs.artifacts import publish_run_artifacts
from hoist.runs.models import RunStatus

__all__ = [
    "SECRET_MASK",
    "Outcome",
    "error_message",
    "invoke_action",
    "jsonable",
    "recorded",
    "run_action",
    "secret_fields",
    "worker_params",
]

SECRET_MASK = "**********"
"""What a record holds in place of a secret value (pydantic's own JSON dump of one)."""


class Outcome:
    """What the body of :func:`recorded` produced: the JSON-compatible result and the
    name of its Python type (``None`` for plain data)."""

    __slots__ = ("model", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.model: str | None = None

    def set(self, value: Any, model: str | None = None) -> None:
        """Record ``value`` (JSON-compatible) as the run's result."""
        self.value, self.model = value, model


@contextmanager
def recorded(ctx: RuntimeContext) -> Iterator[Outcome]:
    """Run the ``with`` body as ``ctx``'s run: ``running`` first; then the outcome's value
    as its result and ``succeeded``, or its error and traceback and ``failed``, or
    ``cancelled`` (a :class:`~hoist.errors.RunCancelledError`, an interrupt, an asyncio
    task's cancellation). The run's context is closed before it ends; with
    ``HOIST_ARTIFACTS`` set, its ``artifacts/`` folder is published there first
    (:mod:`hoist.runs.artifacts`).

    Raises:
        ActionFailedError: the body raised (the original is chained as ``__cause__``);
            a timeout's cancel (a reason starting with ``timeout``) as ``TimeoutError``.
        ResultValidationError: the body raised it (the result did not match its model).
        RunCancelledError: the run was cancelled.
    """
    outcome = Outcome()
    ctx.emit_status(RunStatus.RUNNING)
    try:
        try:
            yield outcome
        finally:  # however it ends, before its end is recorded; never raises
            publish_run_artifacts(ctx, ctx.settings)
    except RunCancelledError:
        reason = ctx.cancel_reason or ""
        if reason.startswith("timeout"):
            ctx.emit_error("TimeoutError", reason)
            ctx.emit_status(RunStatus.FAILED)
            raise ActionFailedError(ctx.run_id, "TimeoutError", reason) from None
        ctx.emit_status(RunStatus.CANCELLED)
        raise
    except (KeyboardInterrupt, asyncio.CancelledError):
        ctx.emit_status(RunStatus.CANCELLED)
        raise
    except ResultValidationError as exc:
        ctx.emit_error(exc.error_type, exc.error_message, field_errors=exc.field_errors)
        ctx.emit_status(RunStatus.FAILED)
        raise
    except Exception as exc:
        error_type, message = _qualified_name(type(exc)), error_message(exc)
        tb = _traceback(exc)
        ctx.emit_error(error_type, message, tb)
        ctx.emit_status(RunStatus.FAILED)
        raise ActionFailedError(ctx.run_id, error_type, message, tb) from exc
    finally:
        ctx.close()
    ctx.emit_result(outcome.value, outcome.model)
    ctx.emit_status(RunStatus.SUCCEEDED)


_RECORDED_CODE = recorded.__wrapped__.__code__  # type: ignore[attr-defined]


def invoke_action(action_cls: type[BaseAction[Any]], params: BaseModel, ctx: RuntimeContext) -> Any:
    """Execute ``action_cls`` with validated ``params``; return its (typed) result.

    Raises:
        ActionFailedError: the action raised (the original is chained as ``__cause__``).
        ResultValidationError: the result does not match ``result_model``.
        RunCancelledError: the run was cancelled.
    """
    with recorded(ctx) as outcome:
        result = run_action(action_cls, params, ctx)
        outcome.set(jsonable(result))
    return result


def run_action(action_cls: type[BaseAction[Any]], params: BaseModel, ctx: RuntimeContext) -> Any:
    """Execute ``action_cls`` and check its result against ``result_model``, recording
    nothing about how it ends (run it inside :func:`recorded`)."""
    action = action_cls(params, ctx)
    try:
        value = resolve(action.run())
    finally:
        detach_all(action)  # an autolog hook never outlives its run, even a failed one
    return _check_result(action_cls, value, ctx.run_id)


def _traceback(exc: BaseException) -> str:
    """``exc``'s traceback from the body of :func:`recorded` on (not this generator's
    own frame, which the exception passed through on its way out)."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is _RECORDED_CODE:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def error_message(exc: BaseException) -> str:
    """``str(exc)``, or ``repr(exc)`` when that says nothing: an error is never recorded
    with an empty message (``raise ValueError()``)."""
    text = str(exc)
    return text if text.strip() else repr(exc)


def _check_result(action_cls: type[BaseAction[Any]], value: Any, run_id: str) -> Any:
    model = action_cls.result_model
    if model is None or isinstance(value, model):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ResultValidationError(run_id, field_errors_from_pydantic(exc.errors())) from None


def _qualified_name(cls: type) -> str:
    """``module.Qualname``; a plugin's module without its per-process namespace prefix, so
    the name is the same wherever the plugin ran (``plugin.actions.BoomError``)."""
    from hoist.plugins.loader import PREFIX

    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    if module.startswith(PREFIX) and "." in module:
        module = module.split(".", 1)[1]
    return f"{module}.{cls.__qualname__}"


def jsonable(value: Any) -> Any:
    """``value`` as JSON-compatible data (models dumped, paths and unknowns as text)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of ``model``'s top-level fields that hold a secret (``SecretStr`` or
    ``SecretBytes``, optional or not): what a record must never keep in clear."""
    return frozenset(
        name for name, info in model.model_fields.items() if _holds_secret(info.annotation)
    )


def _holds_secret(annotation: Any) -> bool:
    from typing import get_args

    from pydantic import SecretBytes, SecretStr

    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_holds_secret(arg) for arg in get_args(annotation))


def worker_params(params: BaseModel) -> dict[str, Any]:
    """Validated params as JSON data for a worker in another process: like the run's
    recorded params, but with secret values (``SecretStr``/``SecretBytes``) revealed, which
    the record keeps masked. Travels only to the worker, never into the run store."""
    data: dict[str, Any] = params.model_dump(mode="json")
    _reveal(params, data)
    return data


def _reveal(value: Any, data: Any) -> Any:
    from pydantic import SecretBytes, SecretStr

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, SecretBytes):
        return value.get_secret_value().decode("utf-8", "replace")
    if isinstance(value, BaseModel) and isinstance(data, dict):
        for name in type(value).model_fields:
            if name in data:
                data[name] = _reveal(getattr(value, name), data[name])
    elif isinstance(value, list | tuple) and isinstance(data, list):
        for i, (item, dumped) in enumerate(zip(value, data, strict=False)):
            data[i] = _reveal(item, dumped)
    elif isinstance(value, dict) and isinstance(data, dict):
        for key, item in value.items():
            if str(key) in data:
                data[str(key)] = _reveal(item, data[str(key)])
    return data
