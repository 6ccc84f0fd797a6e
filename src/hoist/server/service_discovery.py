"""What a registered service offers, read from the URL it was registered by.

Two kinds of URL:

- an **OpenAPI document** (``http://host:8005/openapi.json``, a ``ServeAPI`` app's): its
  endpoints are the operations carrying the ``x-hoist`` extension
  (:data:`~hoist.services.openapi.X_HOIST`); the service's base URL is the document's
  folder (``http://host:8005``);
- **Ray Serve's routes** (``http://host:8000/-/routes``, a JSON map of route prefix to
  application name): each application's ``openapi.json`` is read under its prefix, and
  its endpoints' paths are prefixed with it (``/calc`` + ``/`` = ``/calc/``); the base
  URL is the Serve proxy's (``http://host:8000``).

Either way an endpoint's URL is the service's base URL followed by the endpoint's path.
Every read has the client's short timeouts: a service that does not answer is reported
as :class:`DiscoveryError` naming what failed, never waited on for long.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from hoist.errors import HoistError
from hoist.services.openapi import X_HOIST

__all__ = [
    "Discovered",
    "DiscoveryError",
    "Endpoint",
    "Source",
    "discover",
    "endpoints_of",
    "service_base",
]

Source = Literal["openapi", "ray-serve", "local"]
"""How a service is read: ``openapi``, ``ray-serve`` (its ``/-/routes``), or ``local``
(an OpenAPI URL that ``hoist service run`` listed itself; never what a read finds)."""
#: The path of Ray Serve's routes map, below the proxy's root.
ROUTES_PATH = "/-/routes"
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
_MAX_APPS = 100  # a Ray Serve cluster's applications read per refresh


class DiscoveryError(HoistError):
    """A service's URL did not give its endpoints: it did not answer in time, refused
    the connection, answered an error or something that is neither an OpenAPI document
    nor Ray Serve's routes."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One enter endpoint of a service: its path below the service's base URL and what
    its ``x-hoist`` extension says about it."""

    path: str
    summary: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    author: str | None = None
    version: str | None = None
    organization: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The endpoint as the API and the store keep it."""
        return {
            "path": self.path, "summary": self.summary, "description": self.description,
            "tags": list(self.tags), "author": self.author, "version": self.version,
            "organization": self.organization,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Discovered:
    """What one read of a service's URL found."""

    name: str
    source: Source
    endpoints: list[Endpoint]


def service_base(url: str, source: Source) -> str:
    """The base URL a service's endpoint paths are relative to (no trailing slash).

    For Ray Serve's routes it is the URL without ``/-/routes``; for an OpenAPI document,
    the document's folder.
    """
    parts = urlsplit(url)
    path = parts.path
    if source == "ray-serve" and path.endswith(ROUTES_PATH):
        path = path[: -len(ROUTES_PATH)]
    else:
        path = path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))


def endpoints_of(document: dict[str, Any], prefix: str = "") -> list[Endpoint]:
    """The enter endpoints of an OpenAPI ``document``: its operations with an
    ``x-hoist`` extension, their paths below ``prefix`` (a Ray Serve route prefix)."""
    found: list[Endpoint] = []
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return found
    head = prefix.rstrip("/")
    for path, item in paths.items():
        if not isinstance(path, str) or not isinstance(item, dict):
            continue
        for method in _HTTP_METHODS:
            operation = item.get(method)
            meta = operation.get(X_HOIST) if isinstance(operation, dict) else None
            if isinstance(meta, dict):
                found.append(_endpoint(head + path, meta))
                break  # one endpoint per path (its POST; the GET is the form)
    return found


def _endpoint(path: str, meta: dict[str, Any]) -> Endpoint:
    tags = meta.get("tags")
    return Endpoint(
        path=path,
        summary=_text(meta.get("summary")),
        description=_text(meta.get("description")),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        author=_text(meta.get("author")),
        version=_text(meta.get("version")),
        organization=_text(meta.get("organization")),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def discover(client: httpx.AsyncClient, url: str) -> Discovered:
    """Read ``url`` (an OpenAPI document or Ray Serve's routes) and the documents it
    leads to.

    Raises:
        DiscoveryError: the service did not answer in time, refused, answered an error
            or an unknown document (the message says which).
    """
    document = await _get_json(client, url)
    if isinstance(document, dict) and ("openapi" in document or "paths" in document):
        info = document.get("info")
        title = info.get("title") if isinstance(info, dict) else None
        name = str(title) if title else urlsplit(url).netloc
        return Discovered(name, "openapi", endpoints_of(document))
    if _is_routes(document):
        return await _discover_serve(client, url, document)
    raise DiscoveryError(f"{url} is neither an OpenAPI document nor Ray Serve's routes")


async def _discover_serve(
    client: httpx.AsyncClient, url: str, routes: dict[str, str]
) -> Discovered:
    base = service_base(url, "ray-serve")
    apps = sorted(routes.items())[:_MAX_APPS]
    documents = await asyncio.gather(
        *(_get_json(client, f"{base}{prefix.rstrip('/')}/openapi.json") for prefix, _ in apps)
    )
    endpoints: list[Endpoint] = []
    for (prefix, _), document in zip(apps, documents, strict=True):
        if isinstance(document, dict):
            endpoints.extend(endpoints_of(document, prefix))
    names = ", ".join(name for _, name in apps)
    return Discovered(names or urlsplit(url).netloc, "ray-serve", endpoints)


def _is_routes(document: Any) -> bool:
    return isinstance(document, dict) and all(
        isinstance(k, str) and k.startswith("/") and isinstance(v, str) for k, v in document.items()
    )


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.TimeoutException as exc:
        raise DiscoveryError(f"{url} did not answer in time ({_timeout_kind(exc)})") from None
    except httpx.ConnectError as exc:
        raise DiscoveryError(f"cannot connect to {url}: {_reason(exc)}") from None
    except httpx.HTTPError as exc:
        raise DiscoveryError(f"reading {url} failed: {_reason(exc)}") from None
    if response.status_code != 200:
        raise DiscoveryError(f"{url} answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise DiscoveryError(f"{url} did not answer JSON") from None


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting timed out"
    return "no answer before the read timeout"


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
