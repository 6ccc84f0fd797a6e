"""Calls the Hoist server makes to a registered service on a user's behalf: read an
endpoint's form, launch it, answer a run's lock.

Each call carries the caller's identity signed with the secret the server and its
services share (``Settings.service_secret``, see :mod:`hoist.services.identity`; a
minute long, bound to the run for a lock's answer): a service believes nothing else
about who asks. The service's answers that mean something to the caller pass through
(a launch's 202 with the run's URL on this panel, 413 for files over the service's limit,
422 with errors by field, 429 with ``Retry-After``; a lock's 200, 422 and 409); a
service that does not answer in time, refuses the connection, refuses the server's
identity or fails is a :class:`ServiceCallError` (HTTP 502) saying which.

A launch with files (``multipart/form-data``, an :class:`Upload`) is streamed to the
service as it arrives, never whole in memory: the API's request body as it is (its
boundary and ``Content-Length`` kept), or a form the panel already parsed (files spooled
to disk by Starlette, the session's CSRF token left out) encoded again part by part.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio.to_thread
import httpx
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from hoist.errors import HoistError
from hoist.runs.models import Run
from hoist.server.api import API_PREFIX
from hoist.server.service_discovery import service_base
from hoist.server.service_models import ServiceInfo
from hoist.server.service_registry import ServiceRegistry
from hoist.services.identity import IDENTITY_HEADER, may_answer, sign
from hoist.services.launch import run_url

if TYPE_CHECKING:  # the auth module maps errors through a module that imports this one
    from hoist.server.auth import Principal

__all__ = [
    "UPLOAD_PATHS",
    "Forwarded",
    "ServiceCallError",
    "Upload",
    "answer_lock",
    "answer_run_lock",
    "endpoint_url",
    "launch",
    "may_answer_lock",
    "read_form",
]

#: The service's answers to a launch that reach the caller as they are.
_LAUNCH_PASSED = frozenset({202, 413, 422, 429})
#: Where a ``multipart/form-data`` body (files for a service's launch) may hold up to
#: ``Settings.max_upload_bytes`` rather than ``max_body_bytes``: the API's launch and the
#: panel's launch form.
UPLOAD_PATHS = re.compile(rf"(?:{re.escape(API_PREFIX)})?/services/[^/]+/(?:launch|enter)")
#: Seconds one write of a forwarded upload may wait for the service to take it.
_UPLOAD_WRITE_TIMEOUT = 60.0
_CHUNK = 64 * 1024
#: ... and to a lock's answer.
_LOCK_PASSED = frozenset({200, 404, 409, 422})
_MAX_DETAIL = 300


class ServiceCallError(HoistError):
    """A service did not answer a forwarded call usably (HTTP 502).

    Attributes:
        url: what was called.
    """

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        super().__init__(f"the service at {url} {problem}")


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A service's answer to pass on: status, JSON body and the headers that matter."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Upload:
    """A ``multipart/form-data`` launch body to stream to the service.

    Attributes:
        content_type: the body's ``Content-Type``, its boundary included.
        stream: the body's bytes as they come.
        length: its size in bytes when known (sent as ``Content-Length``).
    """

    content_type: str
    stream: AsyncIterator[bytes]
    length: int | None = None

    @classmethod
    def of_request(cls, request: Request, *, leave_out: frozenset[str] = frozenset()) -> Upload:
        """The body of ``request`` (``multipart/form-data``) as it arrives, or, when the
        form was parsed already (the CSRF check of a session's post reads it),
        :meth:`of_form` of that form."""
        # Starlette keeps a parsed form on the request; its stream is then consumed.
        parsed: FormData | None = getattr(request, "_form", None)
        if parsed is not None:
            return cls.of_form(parsed, leave_out=leave_out)
        declared = request.headers.get("content-length", "")
        length = int(declared) if declared.isdigit() else None
        return cls(request.headers.get("content-type", ""), request.stream(), length)

    @classmethod
    def of_form(cls, form: FormData, *, leave_out: frozenset[str] = frozenset()) -> Upload:
        """A parsed form encoded again as ``multipart/form-data`` (files read from where
        Starlette spooled them, a chunk at a time), without the fields in ``leave_out``
        (the session's CSRF token is no business of the service's)."""
        boundary = "hoist-" + secrets.token_hex(16)
        items = [(name, value) for name, value in form.multi_items() if name not in leave_out]
        heads = [_part_head(boundary, name, value) for name, value in items]
        sizes = [len(v.encode()) if isinstance(v, str) else v.size for _, v in items]
        tail = f"--{boundary}--\r\n".encode()
        length = None
        if all(size is not None for size in sizes):
            length = sum(len(h) + 2 for h in heads) + sum(s or 0 for s in sizes) + len(tail)

        async def stream() -> AsyncIterator[bytes]:
            for head, (_, value) in zip(heads, items, strict=True):
                yield head
                if isinstance(value, str):
                    yield value.encode()
                else:
                    await value.seek(0)
                    while chunk := await value.read(_CHUNK):
                        yield chunk
                yield b"\r\n"
            yield tail

        return cls(f"multipart/form-data; boundary={boundary}", stream(), length)


def _part_head(boundary: str, name: str, value: str | UploadFile) -> bytes:
    # Quoted as browsers do (WHATWG HTML's multipart/form-data encoding).
    def quoted(text: str) -> str:
        return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")

    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted(name)}"'
    if isinstance(value, str):
        return (head + "\r\n\r\n").encode()
    kind = value.content_type or "application/octet-stream"
    filename = quoted(value.filename or "")
    return (head + f'; filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n').encode()


def _identity(secret: str | None, user: str, role: str, run: str | None = None) -> dict[str, str]:
    # No secret on this server: no identity (a service without one runs as anonymous;
    # one with a secret refuses, which is reported as such).
    if not secret:
        return {}
    return {IDENTITY_HEADER: sign(secret, user, role, run=run, ttl=60)}


def endpoint_url(service: ServiceInfo, path: str) -> str:
    """The URL of ``service``'s endpoint at ``path``."""
    return service_base(service.url, service.source) + path


async def read_form(client: httpx.AsyncClient, service: ServiceInfo, path: str) -> dict[str, Any]:
    """The form of ``service``'s endpoint at ``path``: ``{"elements", "schema"}``.

    Raises:
        EndpointNotFoundError: the service has no endpoint at ``path``.
        ServiceCallError: the service did not answer with a form.
    """
    service.endpoint(path)
    url = endpoint_url(service, path)
    response = await _call(client, "GET", url)
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict) or "elements" not in body:
        raise ServiceCallError(url, _failed(response, body, "with a form"))
    return {"elements": body["elements"], "schema": body.get("schema") or {}}


async def launch(
    client: httpx.AsyncClient,
    service: ServiceInfo,
    path: str,
    inputs: dict[str, Any] | Upload,
    *,
    secret: str | None,
    user: str,
    role: str,
) -> Forwarded:
    """Launch ``service``'s endpoint at ``path`` with ``inputs`` as ``user``: JSON, or
    an :class:`Upload` streamed to the service.

    Returns:
        The service's 202 (``url``: the run's page on this panel), 413 (a file over the
        service's limit; nothing launched), 422 (errors by field, the form's elements)
        or 429 (with ``Retry-After``).

    Raises:
        EndpointNotFoundError: the service has no endpoint at ``path``.
        ServiceCallError: the service did not answer, refused the identity or failed.
    """
    service.endpoint(path)
    url = endpoint_url(service, path)
    headers = _identity(secret, user, role)
    if isinstance(inputs, Upload):
        headers["Content-Type"] = inputs.content_type
        if inputs.length is not None:
            headers["Content-Length"] = str(inputs.length)
        timeout = client.timeout.as_dict() | {"write": _UPLOAD_WRITE_TIMEOUT}
        response = await _call(client, "POST", url, content=inputs.stream, headers=headers,
                               timeout=httpx.Timeout(**timeout))  # fmt: skip
    else:
        response = await _call(client, "POST", url, json=inputs, headers=headers)
    body = _json(response)
    status = response.status_code
    if status not in _LAUNCH_PASSED or not isinstance(body, dict):
        raise ServiceCallError(url, _failed(response, body, "to the launch"))
    if status == 202:
        run_id = body.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            raise ServiceCallError(url, "answered 202 without a run id")
        local = run_url(run_id)
        return Forwarded(202, {**body, "url": local}, {"Location": local})
    extra = {"Retry-After": response.headers.get("Retry-After") or "1"} if status == 429 else {}
    return Forwarded(status, body, extra)


async def answer_lock(
    client: httpx.AsyncClient,
    service_url: str,
    run_id: str,
    lock_id: str,
    values: dict[str, Any],
    *,
    secret: str | None,
    user: str,
    role: str,
) -> Forwarded:
    """Answer the lock ``lock_id`` of the run ``run_id`` at its service (``service_url``:
    the run's ``meta.service.url``) as ``user``, with an identity bound to the run.

    Returns:
        The service's 200 (answered), 422 (errors by field, the form's elements), 409
        (the lock is gone) or 404 (no such run or lock there).

    Raises:
        ServiceCallError: the service did not answer, refused the identity or failed.
    """
    url = f"{service_url.rstrip('/')}/-/hoist/runs/{quote(run_id, safe='')}/locks/" + quote(
        lock_id, safe=""
    )
    headers = _identity(secret, user, role, run=run_id)
    response = await _call(client, "POST", url, json={"values": values}, headers=headers)
    body = _json(response)
    if response.status_code not in _LOCK_PASSED or not isinstance(body, dict):
        raise ServiceCallError(url, _failed(response, body, "to the answer"))
    return Forwarded(response.status_code, body)


def may_answer_lock(run: Run, principal: Principal) -> bool:
    """Whether ``principal`` may answer ``run``'s locks: the rule the run's service
    applies too (:func:`hoist.services.identity.may_answer`): an operator or admin, or
    the user who launched the run (its ``meta["user"]``)."""
    user = principal.user
    return may_answer(user.username, str(user.role), run.meta.get("user"))


async def answer_run_lock(
    registry: ServiceRegistry,
    run: Run,
    lock_id: str,
    values: dict[str, Any],
    *,
    secret: str | None,
    user: str,
    role: str,
) -> Forwarded:
    """Answer a lock of ``run`` at the run's service (its ``meta.service.url``), which
    must be a registered service's: the server sends identities only to services an
    operator registered. The API's and the panel's answers both go this way (each
    checks :func:`may_answer_lock` first). See :func:`answer_lock`.

    Raises:
        ServiceCallError: the run names no service URL, its service is not registered
            here, or it did not answer usably.
    """
    meta = run.meta.get("service")
    url = meta.get("url") if isinstance(meta, dict) else None
    if not isinstance(url, str) or not url:
        raise ServiceCallError(f"of run {run.id}", "is unknown (the run names no service URL)")
    if await anyio.to_thread.run_sync(registry.find_by_origin, url) is None:
        raise ServiceCallError(url, "is not registered on this server")
    return await answer_lock(
        registry.client, url, run.id, lock_id, values, secret=secret, user=user, role=role
    )


async def _call(client: httpx.AsyncClient, method: str, url: str, **options: Any) -> httpx.Response:
    try:
        return await client.request(method, url, **options)
    except httpx.TimeoutException:
        raise ServiceCallError(url, "did not answer in time") from None
    except httpx.HTTPError as exc:
        problem = str(exc) or type(exc).__name__
        raise ServiceCallError(url, f"cannot be reached: {problem}") from None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _failed(response: httpx.Response, body: Any, what: str) -> str:
    status = response.status_code
    if status in (401, 403):
        return (
            f"refused the server's identity ({status}): does it share this server's "
            "HOIST_SERVICE_SECRET?"
        )
    detail = body.get("detail") if isinstance(body, dict) else None
    text = f": {str(detail)[:_MAX_DETAIL]}" if detail else ""
    return f"answered {status} {what}{text}"
