"""``Launch``: start one execution of a service's entry point from an endpoint, and
answer at once with the run's id::

    return Launch(request, "my_service.calc:execute", inputs={"tasks": tasks})

The launch resolves the entry point (an unknown one answers 500 naming it and the
reason, and records nothing), validates an action's inputs against its params model
(422, nothing recorded), builds the run (kind ``service``, the endpoint's metadata from
its route, never from stack inspection; secrets in the inputs masked) and hands it to the
app's executor, which records it ``queued`` or refuses it when the service is full (429
with ``Retry-After``, nothing recorded).

The launching user (and role) is recorded in the run's ``meta["user"]`` (``["role"]``)
only from the identity the Hoist server signed (:mod:`hoist.services.identity`); a
service without a secret records none (anonymous), and no other header is ever believed.
The request's base URL is recorded in ``meta["service"]["url"]`` (the server routes lock
answers there). Files uploaded with the form are moved into the run's ``in/`` folder and
the inputs hold their paths (``in/<name>``); when the run records through a Hoist server
(``ctx.client``), they are published there as the execution starts, before the entry
point runs, on whichever pool runs it (:mod:`hoist.services.slots`), so the server lists
and serves them whether or not it shares this folder.
"""

from __future__ import annotations

import math
import shutil
from typing import Any

import anyio.to_thread
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from hoist.errors import EntryPointError, ParamsValidationError, ServiceBusyError
from hoist.runs.models import Run, RunKind, new_run_id
from hoist.runs.sinks.base import EventSink
from hoist.services.answers import error_response, inputs_error_response, route_form
from hoist.services.app import ServeAPI
from hoist.services.entry import resolve_entry_point
from hoist.services.execution import Execution
from hoist.services.forms_io import masked_inputs
from hoist.services.identity import request_identity
from hoist.services.openapi import X_HOIST
from hoist.services.uploads import place_uploads

__all__ = ["Launch", "run_url"]


def run_url(run_id: str) -> str:
    """The run's page, relative to the Hoist panel."""
    return f"/runs/{run_id}"


def Launch(
    request: Request,
    entry_point: Any,
    inputs: Any = None,
    reference: str | None = None,
    summary: str | None = None,
    description: str | None = None,
) -> JSONResponse:
    """Launch ``entry_point`` with ``inputs`` as a run of this service.

    Args:
        request: the endpoint's request (its app must be a :class:`ServeAPI`).
        entry_point: ``"module:obj"`` or ``"module.obj"``, a callable, or a plugin
            action; sync or async; it receives ``inputs`` and ``tracer`` by name.
        inputs: what the entry point receives (a dict or a pydantic model).
        reference: the caller's own reference for this execution (kept in the run's
            ``meta``).
        summary, description: this execution's, kept in the run's ``meta``.

    Returns:
        202 ``{"run_id", "fid", "url", "status": "queued"}`` with a ``Location``
        header; 500 naming the entry point when it cannot be loaded; 422 with field
        errors when an action's inputs are invalid; 429 with ``Retry-After`` when the
        service is full. Only the 202 recorded a run.

    Raises:
        TypeError: ``request`` does not belong to a :class:`ServeAPI`.
    """
    app = request.scope.get("app")
    if not isinstance(app, ServeAPI):
        raise TypeError("Launch needs a request to a hoist.services.ServeAPI app")
    try:
        identity = request_identity(request)
    except HTTPException as exc:  # a plain route of the app that launches
        response = error_response(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response
    route = request.scope.get("route")
    form = route_form(route)
    try:
        entry = resolve_entry_point(entry_point)
    except EntryPointError as exc:
        return error_response(500, str(exc), entry_point=str(exc.entry_point), reason=exc.reason)
    endpoint = _endpoint_meta(request, route)
    meta: dict[str, Any] = {
        "service": {**endpoint, "entry_point": entry.label, "url": _base_url(request)},
        "reference": reference,
    }
    if identity is not None:
        meta["user"], meta["role"] = identity.user, identity.role
    if summary is not None:
        meta["summary"] = summary
    if description is not None:
        meta["description"] = description
    run_id = new_run_id()
    run_dir = app.service_runtime().settings.runs_dir / run_id
    launched = False
    try:
        inputs = place_uploads(inputs, run_dir)
        try:
            given = entry.validate_inputs(inputs)
        except ParamsValidationError as exc:  # an action's params
            return inputs_error_response(exc.field_errors, form)
        run = Run(
            id=run_id,
            kind=RunKind.SERVICE,
            plugin=app.service_name,
            action=endpoint.get("summary") or endpoint["path"],
            mode="service",
            params=masked_inputs(entry.recorded_inputs(given), form),
            meta=meta,
        )
        try:
            execution = Execution(
                run, entry, given, service=app.service_name, locks=app.lock_handlers
            )
            app.service_executor().start(execution)
        except ServiceBusyError as exc:
            seconds = max(1, math.ceil(exc.retry_after))
            response = error_response(429, str(exc))
            response.headers["Retry-After"] = str(seconds)
            return response
        launched = True
    finally:
        if not launched:  # a 422 or a 429 leaves no uploads behind
            shutil.rmtree(run_dir, ignore_errors=True)
    url = run_url(run.id)
    body = {"run_id": run.id, "fid": run.id, "url": url, "status": "queued"}
    headers = {"Location": _location(app, url)}
    return _Launched(body, app.service_executor().sink, status_code=202, headers=headers)


class _Launched(JSONResponse):
    """The 202 of a launch, sent once the run's record is written: whoever follows its
    ``url`` or asks for its id at once finds the run. The write happens on a worker
    thread (the sink's flush, which commits every launch waiting at that moment at
    once), never on the event loop."""

    def __init__(self, content: Any, sink: EventSink, **options: Any) -> None:
        super().__init__(content, **options)
        self._sink = sink

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await anyio.to_thread.run_sync(self._sink.flush)
        await super().__call__(scope, receive, send)


def _endpoint_meta(request: Request, route: Any) -> dict[str, Any]:
    """The endpoint's metadata: an enter route's ``x-hoist`` extension, or what a plain
    route declares (summary, description, tags)."""
    path = str(getattr(route, "path", None) or request.url.path)
    extra = getattr(route, "openapi_extra", None) or {}
    found = extra.get(X_HOIST)
    if isinstance(found, dict):
        return {**found, "path": path}
    return {
        "summary": getattr(route, "summary", None) or getattr(route, "name", None),
        "description": getattr(route, "description", None) or None,
        "tags": [str(t) for t in getattr(route, "tags", None) or []],
        "entry": path,
        "path": path,
    }


def _base_url(request: Request) -> str:
    # Where this app answers (a mounted app's root path included).
    return str(request.base_url).rstrip("/")


def _location(app: ServeAPI, url: str) -> str:
    # Absolute when the service knows its Hoist server; else the panel-relative path.
    server = app.service_runtime().settings.server_url
    return f"{server.rstrip('/')}{url}" if server else url
