"""What the server knows about a registered agent service (its endpoints, its status)
and the rules a service URL must follow; the registry (:mod:`hoist.server.service_registry`)
stores and refreshes them."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from hoist.errors import HoistError, NotFoundError, ParamsValidationError
from hoist.server.service_discovery import Source

__all__ = [
    "SERVICE_URL_PATTERN",
    "EndpointNotFoundError",
    "ServiceEndpoint",
    "ServiceExistsError",
    "ServiceInfo",
    "ServiceNotFoundError",
    "check_service_url",
    "source_of",
]

_MAX_URL = 2000


class ServiceNotFoundError(NotFoundError):
    """No registered service by that id (HTTP 404)."""

    kind = "service"


class EndpointNotFoundError(NotFoundError):
    """The service has no endpoint at that path (HTTP 404)."""

    kind = "endpoint"


class ServiceExistsError(HoistError):
    """A service with that URL is registered already (HTTP 409).

    Attributes:
        service_id: the registered one's id.
    """

    def __init__(self, url: str, service_id: str) -> None:
        self.service_id = service_id
        super().__init__(f"{url} is registered already (service {service_id})")


class ServiceEndpoint(BaseModel):
    """An enter endpoint of a registered service."""

    path: str = Field(description="Below the service's base URL, e.g. `/` or `/calc/`.")
    summary: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    author: str | None = None
    version: str | None = None
    organization: str | None = None


class ServiceInfo(BaseModel):
    """A registered service as the registry last found it."""

    id: str
    name: str
    url: str = Field(description="The URL it was registered by.")
    source: Source = Field(
        description="`openapi`, `ray-serve` for a `/-/routes` URL, or `local`: an OpenAPI "
        "URL that `hoist service run` listed itself while it runs (no registration)."
    )
    status: Literal["pending", "ok", "unreachable"]
    error: str | None = Field(None, description="Why it is unreachable.")
    checked_at: float | None = Field(None, description="When it was last read (epoch s).")
    endpoints: list[ServiceEndpoint] = Field(default_factory=list)

    def endpoint(self, path: str) -> ServiceEndpoint:
        """The endpoint at ``path``.

        Raises:
            EndpointNotFoundError: the service has none there.
        """
        for endpoint in self.endpoints:
            if endpoint.path == path:
                return endpoint
        raise EndpointNotFoundError(
            path, [e.path for e in self.endpoints], where=f"service {self.id}"
        )


_PORT = r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|\d{1,4})"
SERVICE_URL_PATTERN = (
    r"^https?://[A-Za-z0-9_.\-]+(?::" + _PORT + r")?"
    r"(?:[/?#][^\s\x00-\x1f\x7f]*)?$"
)
"""What a service URL may be: ``http``/``https``, a host name or IPv4 address (no user
name or password; an IPv6 host by its name), a valid port, no spaces or control
characters."""
_SERVICE_URL = re.compile(SERVICE_URL_PATTERN)


def check_service_url(url: str) -> str:
    """``url`` stripped, if it matches :data:`SERVICE_URL_PATTERN` and is not too long.

    Raises:
        ParamsValidationError: on ``url`` otherwise.
    """
    url = url.strip()
    problem = None
    if not url.startswith(("http://", "https://")):
        problem = "must be an http:// or https:// URL"
    elif len(url) > _MAX_URL:
        problem = f"longer than {_MAX_URL} characters"
    elif not _SERVICE_URL.match(url):
        problem = "not a service URL (http(s)://host[:port]/path, no spaces or credentials)"
    if problem is not None:
        raise ParamsValidationError({"url": [problem]}, subject="service URL")
    return url


def source_of(url: str) -> Source:
    return "ray-serve" if urlsplit(url).path.rstrip("/").endswith("/-/routes") else "openapi"
