"""The ASGI app the ``process`` strategy's server serves, one builder per kind of target.

- :func:`callable_app`: ``module:callable`` of a code folder, called with the inputs dict
  (``def predict(inputs): ...``, sync or async).
- :func:`action_app`: a plugin action; the inputs are its params, validated against its
  params model, and each call is a recorded action run (Hoist's ``LocalExecutor``).
- :func:`asgi_app`: an ASGI app (a ``ServeAPI``, FastAPI, Starlette...) served as it is,
  plus ``GET /health``.

The first two answer ``POST /predict`` with the envelope ``{"status": "success",
"output": ...}`` (200) or ``{"status": "error", "error": {"type", "message"}}`` (422 for
inputs that do not validate, with ``field_errors``; 500 for an error of the deployed code).
All three answer ``GET /health`` with ``{"status": "ok"}``; FastAPI's ``/openapi.json``
describes the first two.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from hoist.deployment.envelope import error_of

__all__ = ["HEALTH_PATH", "PREDICT_PATH", "action_app", "asgi_app", "callable_app"]

HEALTH_PATH = "/health"
PREDICT_PATH = "/predict"
_HEALTHY = b'{"status":"ok"}'
_JSON = "application/json"
_OBJECT_BODY = {
    "requestBody": {
        "required": True,
        "content": {_JSON: {"schema": {"type": "object", "title": "Inputs"}}},
    }
}


def envelope_response(body: dict[str, Any], status_code: int = 200) -> Response:
    """``body`` as JSON (the standard library's encoder; FastAPI's for what it cannot)."""
    try:
        content = json.dumps(body, separators=(",", ":"))
    except (TypeError, ValueError):
        content = json.dumps(jsonable_encoder(body), separators=(",", ":"))
    return Response(content, status_code=status_code, media_type=_JSON)


def _failure(error_type: str, message: str, status_code: int, **extra: Any) -> Response:
    error = {"type": error_type, "message": message, **extra}
    return envelope_response({"status": "error", "error": error}, status_code)


async def _read_inputs(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object, or the 422 envelope saying why it is not one."""
    body = await request.body()
    if not body:
        return {}
    try:
        inputs = json.loads(body)
    except ValueError as exc:
        return _failure("InvalidInputs", f"the body is not JSON: {exc}", 422)
    if not isinstance(inputs, dict):
        kind = type(inputs).__name__
        return _failure("InvalidInputs", f"the inputs must be a JSON object, got {kind}", 422)
    return inputs


def _base_app(title: str, description: str) -> FastAPI:
    app = FastAPI(title=title, description=description, version="1")

    @app.get(HEALTH_PATH, summary="Health")
    async def health() -> Response:
        return Response(_HEALTHY, media_type=_JSON)

    return app


def callable_app(function: Callable[..., Any], name: str) -> FastAPI:
    """An app whose ``POST /predict`` calls ``function(inputs)``.

    A sync function runs on the thread pool (it may block); an async one on the loop.
    """
    is_async = inspect.iscoroutinefunction(function)

    async def predict(request: Request) -> Response:
        inputs = await _read_inputs(request)
        if isinstance(inputs, Response):
            return inputs
        try:
            if is_async:
                output = await function(inputs)
            else:
                output = await run_in_threadpool(function, inputs)
        except Exception as exc:
            return envelope_response({"status": "error", "error": error_of(exc)}, 500)
        return envelope_response({"status": "success", "output": output})

    app = _base_app(name, f"`{name}` deployed by Hoist's process strategy")
    app.add_api_route(
        PREDICT_PATH, predict, methods=["POST"], summary="Predict", openapi_extra=_OBJECT_BODY
    )
    return app


def action_app(plugin_path: str, action: str) -> FastAPI:
    """An app whose ``POST /predict`` runs ``action`` of the plugin at ``plugin_path``.

    The plugin and action are loaded here, so a wrong name fails the server's start.

    Raises:
        PluginNotFoundError, ActionNotFoundError, ConfigError: the plugin or action is wrong.
    """
    from hoist.errors import ActionFailedError, ParamsValidationError
    from hoist.executors.local import LocalExecutor

    executor = LocalExecutor(working_dir=plugin_path)
    plugin = executor.working_plugin()
    action_cls = plugin.load_action(action)
    meta = {"deployment": {"strategy": "process", "action": action}}

    def execute(inputs: dict[str, Any]) -> Any:
        from hoist.plugins.invoke import jsonable

        prepared = executor.prepare_plugin(plugin, action, inputs)
        prepared.run.meta.update(meta)
        return jsonable(executor.execute_prepared(prepared))

    async def predict(request: Request) -> Response:
        inputs = await _read_inputs(request)
        if isinstance(inputs, Response):
            return inputs
        try:
            output = await run_in_threadpool(execute, inputs)
        except ParamsValidationError as exc:
            return _failure("ParamsValidationError", str(exc), 422, field_errors=exc.field_errors)
        except ActionFailedError as exc:
            return _failure(exc.error_type, exc.error_message, 500, run_id=exc.run_id)
        except Exception as exc:
            return envelope_response({"status": "error", "error": error_of(exc)}, 500)
        return envelope_response({"status": "success", "output": output})

    schema = action_cls.params_model.model_json_schema()
    body = {"requestBody": {"required": True, "content": {_JSON: {"schema": schema}}}}
    app = _base_app(action, action_cls.__doc__ or f"plugin action `{action}`")
    app.add_api_route(PREDICT_PATH, predict, methods=["POST"], summary=action, openapi_extra=body)
    return app


ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def asgi_app(app: ASGIApp) -> ASGIApp:
    """``app`` as it is, with ``GET /health`` answered in front of it."""

    async def with_health(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH and scope["method"] == "GET":
            headers = [(b"content-type", _JSON.encode()), (b"content-length", b"15")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": _HEALTHY})
            return
        await app(scope, receive, send)

    return with_health
