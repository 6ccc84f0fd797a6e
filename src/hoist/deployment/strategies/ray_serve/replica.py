"""What runs inside the ``ray-serve`` strategy's Serve replicas.

The replica's working directory is the deployed code folder (Ray's ``runtime_env``
``working_dir``), put first on ``sys.path`` before the target is imported, so an import
error or a constructor that raises fails the replica's start with its own message.

- :class:`CallableReplica`: ``module:callable`` called with the inputs dict;
- :class:`ActionReplica`: a plugin action, its inputs validated against its params model
  (each call a recorded action run, as the ``process`` strategy's ``action_app``);
- :func:`app_deployment_class`: an ASGI/``ServeAPI`` app behind ``serve.ingress`` (built
  on the replica), with ``GET /health`` answered in front of it.

The runner ships this module to the replicas by value (``cloudpickle``), so a replica
imports only what a call needs, never the ``hoist.deployment`` package (its start stays
as fast as a hand-written deployment's).

The first two answer ``POST …/predict`` with the envelope (200; 422 with
``field_errors`` for inputs that do not validate; 500 for an error of the deployed code)
and ``GET …/health`` with ``{"status": "ok"}``; their ``predict(inputs)`` method answers
the envelope to a ``DeploymentHandle``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["ActionReplica", "CallableReplica", "app_deployment_class"]

_JSON = "application/json"
_HEALTHY = b'{"status":"ok"}'


def success_envelope(output: Any) -> dict[str, Any]:
    """``{"status": "success", "output": output}``."""
    return {"status": "success", "output": output}


def error_envelope(error_type: str, message: str, **extra: Any) -> dict[str, Any]:
    """``{"status": "error", "error": {"type", "message", **extra}}``."""
    return {"status": "error", "error": {"type": error_type, "message": message, **extra}}


def error_of(exc: BaseException) -> dict[str, str]:
    """`hoist.deployment.envelope.error_of` (imported on the first error only)."""
    from hoist.deployment.envelope import error_of as of

    return of(exc)


def _enter_code_folder() -> str:
    """Put the replica's working directory (the code folder) first on ``sys.path``."""
    folder = os.getcwd()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return folder


def _response(body: dict[str, Any], status_code: int = 200) -> Any:
    from starlette.responses import Response

    try:
        content = json.dumps(body, separators=(",", ":"))
    except (TypeError, ValueError):
        from fastapi.encoders import jsonable_encoder

        content = json.dumps(jsonable_encoder(body), separators=(",", ":"))
    return Response(content, status_code=status_code, media_type=_JSON)


def _failure(error_type: str, message: str, status_code: int, **extra: Any) -> Any:
    return _response(error_envelope(error_type, message, **extra), status_code)


async def _read_inputs(request: Any) -> dict[str, Any] | Any:
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


class _Routes:
    """``GET …/health`` and ``POST …/predict`` over :meth:`_answer`."""

    async def __call__(self, request: Any) -> Any:
        path = request.scope["path"].rstrip("/")
        method = request.scope["method"]
        if path.endswith("/health") and method == "GET":
            from starlette.responses import Response

            return Response(_HEALTHY, media_type=_JSON)
        if not path.endswith("/predict"):
            return _failure("NotFound", f"no route {method} {path or '/'}: use POST /predict", 404)
        if method != "POST":
            return _failure("MethodNotAllowed", f"{path} answers POST, not {method}", 405)
        inputs = await _read_inputs(request)
        if not isinstance(inputs, dict):
            return inputs
        body, status_code = await self._answer(inputs)
        return _response(body, status_code)

    async def ping(self) -> bool:
        """``True``: a no-op a ``DeploymentHandle`` is warmed up with."""
        return True

    async def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The envelope for ``inputs`` (a ``DeploymentHandle``'s call)."""
        body, _ = await self._answer(inputs)
        return body

    async def _answer(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], int]:
        raise NotImplementedError


class CallableReplica(_Routes):
    """``module:callable`` of the code folder, called with the inputs dict: an async
    function on the replica's loop; a sync one on a thread (``sync_in_thread``, the
    default: it may block) or on the loop itself (faster for quick CPU-light functions,
    but a slow call then holds every other request of the replica)."""

    def __init__(self, module: str, callable: str, sync_in_thread: bool = True) -> None:
        _enter_code_folder()
        from hoist._entrypoints import resolve_entrypoint

        entry = f"{module}:{callable}"
        function: Any = resolve_entrypoint(entry)
        if not builtins_callable(function):
            raise TypeError(f"{entry!r} is not callable: {type(function).__name__}")
        self._function: Any = function
        self._is_async = inspect.iscoroutinefunction(function)
        self._in_thread = sync_in_thread
        # The replica's own threads for a sync callable: one hop through a plain executor
        # costs about half of anyio's (starlette's run_in_threadpool) per call.
        self._threads: ThreadPoolExecutor | None = None
        if sync_in_thread and not self._is_async:
            workers = min(32, (os.cpu_count() or 1) + 4)
            self._threads = ThreadPoolExecutor(workers, thread_name_prefix="hoist-call")

    def __del__(self) -> None:  # Serve calls it when the replica shuts down
        threads = getattr(self, "_threads", None)  # None if the constructor raised
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)

    async def _answer(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], int]:
        try:
            if self._is_async:
                output = await self._function(inputs)
            elif self._threads is None:
                output = self._function(inputs)
            else:
                loop = asyncio.get_running_loop()
                output = await loop.run_in_executor(self._threads, self._function, inputs)
        except Exception as exc:
            return {"status": "error", "error": error_of(exc)}, 500
        return success_envelope(output), 200


builtins_callable = callable


class ActionReplica(_Routes):
    """A plugin action of the code folder (the plugin folder), one recorded run per call."""

    def __init__(self, action: str) -> None:
        folder = _enter_code_folder()
        from hoist.executors.local import LocalExecutor

        self._executor = LocalExecutor(working_dir=folder)
        self._plugin = self._executor.working_plugin()
        self._plugin.load_action(action)  # a wrong name fails the replica's start
        self._action = action
        self._meta = {"deployment": {"strategy": "ray-serve", "action": action}}

    def _execute(self, inputs: dict[str, Any]) -> Any:
        from hoist.plugins.invoke import jsonable

        prepared = self._executor.prepare_plugin(self._plugin, self._action, inputs)
        prepared.run.meta.update(self._meta)
        return jsonable(self._executor.execute_prepared(prepared))

    async def _answer(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], int]:
        from starlette.concurrency import run_in_threadpool

        from hoist.errors import ActionFailedError, ParamsValidationError

        try:
            output = await run_in_threadpool(self._execute, inputs)
        except ParamsValidationError as exc:
            body = error_envelope("ParamsValidationError", str(exc),
                                  field_errors=exc.field_errors)  # fmt: skip
            return body, 422
        except ActionFailedError as exc:
            return error_envelope(exc.error_type, exc.error_message, run_id=exc.run_id), 500
        except Exception as exc:
            return {"status": "error", "error": error_of(exc)}, 500
        return success_envelope(output), 200


def app_deployment_class() -> type:
    """A class for ``serve.deployment`` serving ``app`` (``"module:attr"``, given to the
    constructor) of the code folder through ``serve.ingress``, built on the replica."""
    from ray import serve

    class AppReplica:
        def __init__(self, app: str) -> None:
            self._app = app

        def __serve_build_asgi_app__(self) -> Any:
            _enter_code_folder()
            from hoist._entrypoints import resolve_entrypoint

            target: Any = resolve_entrypoint(self._app)
            if not builtins_callable(target):
                raise TypeError(f"{self._app!r} is not an ASGI app: {type(target).__name__}")
            return _with_health(target)

    ingress: type = serve.ingress()(AppReplica)
    return ingress


def _with_health(app: Any) -> Any:
    """``app`` with ``GET …/health`` answered in front of it (Serve's scope ``path``
    keeps the route prefix, which is also its ``root_path``)."""

    async def with_health(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"].removeprefix(scope.get("root_path", "")).rstrip("/")
            if path == "/health":
                headers = [(b"content-type", _JSON.encode()), (b"content-length", b"15")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": _HEALTHY})
                return
        await app(scope, receive, send)

    return with_health
