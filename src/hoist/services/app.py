"""``ServeAPI``: a FastAPI app for agent services, in kodosumi's style::

    app = ServeAPI()

    @app.enter("/", model=form, summary="My Service", version="1.0.0", author="me@x.org")
    async def enter(request: fastapi.Request, inputs: dict):
        return Launch(request, "my_service.calc:execute", inputs=inputs)

``@app.enter(path, model)`` adds two routes: ``GET path`` answers the form (its
elements and JSON Schema) and ``POST path`` validates and coerces the submitted inputs
with the same form (a JSON body or a form post), then calls the handler. Invalid inputs,
from the form or an ``InputsError`` the handler raises, answer 422 with the errors by
field and the form's elements; any other exception of the handler answers 500 with its
type and message. The endpoint's metadata is stored on its route (the ``x-hoist``
extension of its OpenAPI operation), where :func:`~hoist.services.launch.Launch` reads it.

The app owns the executor its launches run on, built on the first launch (with
``max_concurrency`` and ``max_queued``): a :class:`~hoist.services.pool.ServicePool`,
or with a Ray cluster configured (``HOIST_RAY_ADDRESS``) a warm
:class:`~hoist.services.ray_pool.RayServicePool`; closed on the app's shutdown, or when
the app is garbage-collected or the process exits (under a Ray Serve ingress the
lifespan may never run).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from enum import Enum
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from hoist.errors import ParamsValidationError, UploadTooLargeError, field_errors_from_pydantic
from hoist.runs.runtime import Runtime, get_runtime
from hoist.services.answers import (
    FORM_ATTR,
    describe,
    error_response,
    handler_caller,
    inputs_error_response,
    params_error,
)
from hoist.services.execution import ServiceExecutor
from hoist.services.forms_io import elements_json, form_of, read_body
from hoist.services.identity import request_identity
from hoist.services.lock_routes import add_lock_routes
from hoist.services.locks import LockHandlers
from hoist.services.openapi import (
    ENTER_RESPONSES,
    FORM_RESPONSES,
    X_HOIST,
    SchemaDefs,
    request_body,
)
from hoist.services.pool import ServicePool
from hoist.services.uploads import (
    DEFAULT_MAX_UPLOAD_BYTES,
    UploadLimits,
    discard_uploads,
)

__all__ = ["ServeAPI"]

_log = logging.getLogger("hoist.services")
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


class ServeAPI(FastAPI):
    """A FastAPI app whose ``@enter`` endpoints launch service executions.

    Takes every ``FastAPI`` argument, and:

    Args:
        runtime: where runs are recorded (default: the process runtime, looked up at
            the first launch, never at import).
        executor: what runs the executions (default: built at the first launch and
            closed with the app: a warm ``RayServicePool`` when a Ray cluster is
            configured, ``Settings.ray_address`` / ``HOIST_RAY_ADDRESS``, else an
            in-process ``ServicePool``; an executor given here wins, and is its owner's
            to close).
        max_concurrency: executions of this service running at once (default pool).
        max_queued: executions waiting beyond those (default pool); a launch beyond
            both answers 429.
        name: the service's name, recorded as the runs' ``plugin`` (default: the
            ``title`` when one is given, else the module of the first enter handler).
        secret: the secret shared with the Hoist server, to verify the signed identity
            of each launch (default: the runtime's ``Settings.service_secret``); without
            one every request runs as anonymous, which the app logs when it starts.
        max_upload_bytes: the largest file an ``F.InputFiles`` field accepts (413 above).
        max_upload_total: the most bytes one request's uploads may hold together.
    """

    def __init__(
        self,
        *args: Any,
        runtime: Runtime | None = None,
        executor: ServiceExecutor | None = None,
        max_concurrency: int | None = None,
        max_queued: int | None = None,
        name: str | None = None,
        secret: str | None = None,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        max_upload_total: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.router.lifespan_context = self._closing(self.router.lifespan_context)
        self._hoist_runtime = runtime
        self._hoist_executor = executor
        self._owned_close: weakref.finalize[Any, Any] | None = None
        self._hoist_lock = threading.Lock()
        self._limits = {"max_concurrency": max_concurrency, "max_queued": max_queued}
        self._name: str | None = name or kwargs.get("title") or None
        self._defs = SchemaDefs()
        self._secret = secret
        self._announced = False
        self._uploads = UploadLimits(max_upload_bytes, max_upload_total or 4 * max_upload_bytes)
        self.add_exception_handler(ParamsValidationError, params_error)
        self.lock_handlers = LockHandlers()  # @app.lock / @app.lease, sent with launches
        add_lock_routes(self)

    # ------------------------------------------------------------------ the service
    @property
    def service_name(self) -> str:
        """The service's name (the runs' ``plugin``)."""
        return self._name or "service"

    def service_runtime(self) -> Runtime:
        """The runtime runs are recorded in (the process runtime unless one was given)."""
        if self._hoist_runtime is None:
            self._hoist_runtime = get_runtime()
        return self._hoist_runtime

    @property
    def service_secret(self) -> str | None:
        """The secret identities are verified with (``None``: requests are anonymous)."""
        if self._secret is None:
            self._secret = self.service_runtime().settings.service_secret or ""
        if not self._announced:
            self._announced = True
            if not self._secret:
                _log.warning(
                    "service %s has no identity secret: every request runs as anonymous",
                    self.service_name,
                )
        return self._secret or None

    @property
    def upload_limits(self) -> UploadLimits:
        """How much an enter POST may upload; staged beside the runtime's run folders."""
        return replace(self._uploads, staging=self.service_runtime().settings.runs_dir)

    def service_executor(self) -> ServiceExecutor:
        """The executor launches run on (the default pool is built on first use)."""
        executor = self._hoist_executor
        if executor is not None:
            return executor
        with self._hoist_lock:
            if self._hoist_executor is None:
                pool = self._default_executor()
                # Closed with the app, or at exit / collection when no lifespan runs.
                self._owned_close = weakref.finalize(self, pool.close)
                self._hoist_executor = pool
            return self._hoist_executor

    def _default_executor(self) -> ServiceExecutor:
        """A warm :class:`~hoist.services.ray_pool.RayServicePool` on the configured Ray
        cluster (``HOIST_RAY_ADDRESS``), else an in-process ``ServicePool``. An app that
        already runs in a Ray actor (a Ray Serve replica: Serve's replicas are its warm
        pool) executes in-process."""
        runtime = self.service_runtime()
        limits: dict[str, Any] = {k: v for k, v in self._limits.items() if v is not None}
        if runtime.settings.ray_address:
            from hoist.executors.ray.connect import in_ray_actor

            if not in_ray_actor():
                from hoist.services.ray_pool import RayServicePool  # Ray is optional

                return RayServicePool(runtime, name=self.service_name, **limits)
        return ServicePool(runtime=runtime, name=self.service_name, **limits)

    def close(self) -> None:
        """Close the executor the app built (one given to it stays open); a later
        launch builds a new one."""
        with self._hoist_lock:
            closer, self._owned_close = self._owned_close, None
            if closer is not None:
                self._hoist_executor = None
        if closer is not None:
            closer()

    def __getstate__(self) -> dict[str, Any]:
        # A copy (a Ray Serve replica unpickles the ingress app) builds its own lock,
        # pool and runtime (from the given runtime's settings, or its environment).
        state = self.__dict__.copy()
        runtime = state.pop("_hoist_runtime")
        state["_runtime_of"] = None if runtime is None else (runtime.settings, runtime.token)
        if state["_owned_close"] is not None:
            state["_hoist_executor"] = None
        state["_owned_close"] = state["_hoist_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        runtime_of = state.pop("_runtime_of", None)
        self.__dict__.update(state)
        self._hoist_lock = threading.Lock()
        self._hoist_runtime = (
            None if runtime_of is None else Runtime(runtime_of[0], token=runtime_of[1])
        )

    def _closing(self, inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
        # Wraps whatever lifespan FastAPI built (the user's, or on_startup/on_shutdown).
        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            _ = self.service_secret  # says at start-up when requests run as anonymous
            try:
                async with inner(app) as state:
                    yield state
            finally:
                await run_in_threadpool(self.close)

        return lifespan

    # ------------------------------------------------------------------ enter
    def enter(
        self,
        path: str,
        model: Any,
        summary: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        version: str | None = None,
        author: str | None = None,
        organization: str | None = None,
        deprecated: bool | None = None,
    ) -> Callable[[_Handler], _Handler]:
        """Add a service endpoint at ``path``: ``GET`` its form, ``POST`` its inputs.

        Args:
            path: the route's path.
            model: the form: ``F.Model(...)``, or a pydantic model class (its form is
                generated with ``F.form_for``).
            summary, description, tags, deprecated: the OpenAPI operations' (the form's
                GET and the POST); a deprecated endpoint still launches, and its
                ``x-hoist`` extension says ``"deprecated": true`` too.
            version, author, organization: the service's, in the ``x-hoist`` extension.

        Returns:
            A decorator for the handler, which receives ``request`` and/or ``inputs``
            (the validated inputs) as its signature names them, sync or async; it
            returns a :func:`~hoist.services.launch.Launch` (or any response or JSON
            data).

        Raises:
            TypeError: ``model`` is not a form, or the handler asks for arguments
                other than ``request`` and ``inputs``.
        """
        form = form_of(model)

        def decorator(func: _Handler) -> _Handler:
            call = handler_caller(func)
            if self._name is None:
                self._name = func.__module__
            meta: dict[str, Any] = {
                "summary": summary or func.__name__,
                "description": description if description is not None else func.__doc__,
                "author": author,
                "version": version,
                "organization": organization,
                "tags": list(tags or []),
                "entry": path,
            }
            if deprecated:  # for discovery, and kept in the runs' meta["service"]
                meta["deprecated"] = True
            route_tags: list[str | Enum] | None = list(tags) if tags else None

            async def get_form() -> dict[str, Any]:
                return {"elements": elements_json(form), "schema": form.json_schema()}

            async def post_inputs(request: Request) -> Response:
                request_identity(request)  # 401 before the body is read
                try:
                    data, is_form = await read_body(request, self.upload_limits)
                    inputs = form.validate(data, form=is_form)
                    result = await call(request, inputs)
                except ParamsValidationError as exc:
                    return inputs_error_response(exc.field_errors, form)
                except ValidationError as exc:
                    return inputs_error_response(field_errors_from_pydantic(exc.errors()), form)
                except UploadTooLargeError as exc:
                    return error_response(413, str(exc))
                except HTTPException:
                    raise
                except Exception as exc:
                    _log.exception("service endpoint %s %s failed", "POST", path)
                    return error_response(500, describe(exc))
                finally:
                    await request.close()
                    discard_uploads(request)  # what no launch moved into its run
                if isinstance(result, Response):
                    return result
                return JSONResponse(jsonable_encoder(result))

            self.add_api_route(
                path, get_form, methods=["GET"], name=f"{func.__name__}_form",
                summary=f"{summary or func.__name__}: the form", tags=route_tags,
                deprecated=deprecated, responses=FORM_RESPONSES,
            )  # fmt: skip
            self.add_api_route(
                path, post_inputs, methods=["POST"], name=func.__name__, summary=summary,
                description=description, tags=route_tags,
                deprecated=deprecated, responses=ENTER_RESPONSES, status_code=202,
                openapi_extra={
                    "requestBody": request_body(form, self._defs),
                    X_HOIST: meta,
                },
            )  # fmt: skip
            setattr(self.router.routes[-1], FORM_ATTR, form)
            return func

        return decorator

    # ------------------------------------------------------------------ locks
    def lock(self, name: str) -> Callable[[_Handler], _Handler]:
        """Declare the form of lock ``name`` (``await tracer.lock(name, data)``): the
        function, sync or async, receives the lock's ``data`` (if it takes an argument)
        and returns the form (``F.Model``, a pydantic model class, or a list of
        elements). It runs where the execution runs."""

        def decorator(func: _Handler) -> _Handler:
            self.lock_handlers.forms[name] = func
            return func

        return decorator

    def lease(self, name: str) -> Callable[[_Handler], _Handler]:
        """Declare the check of lock ``name``'s answers: the function, sync or async,
        receives the answer validated by the form (and ``data=``/``user=`` if it names
        them); it raises ``InputsError`` to refuse it (the lock stays open and the
        answerer sees the errors), or returns the answer to use (``None``: as it is)."""

        def decorator(func: _Handler) -> _Handler:
            self.lock_handlers.leases[name] = func
            return func

        return decorator

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, with the forms' shared schema definitions."""
        if self.openapi_schema is None:
            document = super().openapi()
            self._defs.install(document)
        return self.openapi_schema  # type: ignore[return-value]
