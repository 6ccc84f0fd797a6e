"""Run one action against a context: the part every executor (and every Ray worker)
shares. It moves the run through ``running`` to a terminal status, validates the result
against ``result_model`` and records errors with their traceback."""

from __future__ import annotations

import traceback
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
from hoist.runs.models import RunStatus

__all__ = ["invoke_action", "jsonable", "worker_params"]


def invoke_action(action_cls: type[BaseAction[Any]], params: BaseModel, ctx: RuntimeContext) -> Any:
    """Execute ``action_cls`` with validated ``params``; return its (typed) result.

    Raises:
        ActionFailedError: the action raised (the original is chained as ``__cause__``).
        ResultValidationError: the result does not match ``result_model``.
        RunCancelledError: the run was cancelled.
    """
    ctx.emit_status(RunStatus.RUNNING)
    try:
        value = resolve(action_cls(params, ctx).run())
        result = _check_result(action_cls, value, ctx.run_id)
    except RunCancelledError:
        reason = ctx.cancel_reason or ""
        if reason.startswith("timeout"):
            ctx.emit_error("TimeoutError", reason)
            ctx.emit_status(RunStatus.FAILED)
            raise ActionFailedError(ctx.run_id, "TimeoutError", reason) from None
        ctx.emit_status(RunStatus.CANCELLED)
        raise
    except KeyboardInterrupt:
        ctx.emit_status(RunStatus.CANCELLED)
        raise
    except ResultValidationError as exc:
        ctx.emit_error(exc.error_type, exc.error_message, field_errors=exc.field_errors)
        ctx.emit_status(RunStatus.FAILED)
        raise
    except Exception as exc:
        error_type = _qualified_name(type(exc))
        tb = "".join(traceback.format_exception(exc))
        ctx.emit_error(error_type, str(exc), tb)
        ctx.emit_status(RunStatus.FAILED)
        raise ActionFailedError(ctx.run_id, error_type, str(exc), tb) from exc
    finally:
        ctx.close()
    ctx.emit_result(jsonable(result))
    ctx.emit_status(RunStatus.SUCCEEDED)
    return result


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
