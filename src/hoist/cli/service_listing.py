"""How ``hoist service run`` lists itself on the Hoist servers' Services page: its OpenAPI
URL in the run store's ``services`` table with source ``local`` once it listens, taken
out when it exits (:meth:`~hoist.server.service_registry.ServiceRegistry.list_local`).
A servers' background refresh reads it like a registered one (a process that died
shows ``unreachable``); nothing here ever stops the service from serving. Registered
while it runs (by its URL, through a server), it is a registered service from then on:
its exit leaves it listed."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import click
import uvicorn

from hoist.runs.runtime import Runtime
from hoist.server.service_models import ServiceNotFoundError
from hoist.server.service_registry import ServiceRegistry

__all__ = ["ListedServer", "Listing", "listed_url"]

_ANY_ADDRESS = ("", "0.0.0.0", "::")


def listed_url(host: str, port: int, openapi_path: str | None) -> str | None:
    """The OpenAPI URL a server reaches the service by, or ``None`` when it has none a
    server could read (no OpenAPI document, an IPv6 address)."""
    if not openapi_path:
        return None
    if host in _ANY_ADDRESS:
        host = socket.gethostname()
    elif ":" in host:
        return None
    return f"http://{host}:{port}/{openapi_path.lstrip('/')}"


class Listing:
    """This process's entry on the Services page (listed at most once, unlisted at exit)."""

    def __init__(self, runtime: Runtime, host: str, openapi_path: str | None, name: str | None):
        self.runtime = runtime
        self.host = host
        self.openapi_path = openapi_path
        self.name = name
        self.service_id: str | None = None

    def list(self, port: int) -> None:
        """List the service listening on ``port`` and say so (or why it is not listed)."""
        if self.runtime.remote:
            click.echo(
                f"not listed on the Services page: runs are posted to "
                f"{self.runtime.settings.server_url}; register this service there by its URL",
                err=True,
            )
            return
        url = listed_url(self.host, port, self.openapi_path)
        if url is None:
            click.echo(
                "not listed on the Services page: it has no OpenAPI URL a server can read "
                "(an OpenAPI document on an IPv4 address or host name)",
                err=True,
            )
            return
        registry = ServiceRegistry(self.runtime.store.engine)
        try:
            service, mine = registry.list_local(url, self.name)
        except Exception as exc:  # the store or the URL: serve anyway
            click.echo(f"not listed on the Services page: {exc}", err=True)
            return
        if mine:
            self.service_id = service.id
            click.echo(
                f"listed on the Hoist servers' Services page as local service {service.id} "
                f"({url}) while it runs",
                err=True,
            )
        else:
            click.echo(
                f"on the Services page already: {url} is registered (service {service.id})",
                err=True,
            )

    def unlist(self) -> None:
        """Take the listing out (once; a failure is said, never raised); one registered
        since stays."""
        service_id, self.service_id = self.service_id, None
        if service_id is None:
            return
        registry = ServiceRegistry(self.runtime.store.engine)
        try:
            if registry.unlist_local(service_id):
                return
            service = registry.get(service_id)
        except ServiceNotFoundError:
            return  # removed through a server meanwhile
        except Exception as exc:
            click.echo(f"could not take local service {service_id} off the list: {exc}", err=True)
            return
        click.echo(
            f"stays on the Services page: service {service.id} ({service.url}) has been "
            "registered since",
            err=True,
        )


class ListedServer(uvicorn.Server):
    """A uvicorn server that lists the service once it listens and unlists it first
    thing when it shuts down."""

    def __init__(self, config: uvicorn.Config, listing: Listing) -> None:
        super().__init__(config)
        self.listing = listing

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            port = _port_of(self.servers)
            if port is not None:
                await asyncio.to_thread(self.listing.list, port)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await asyncio.to_thread(self.listing.unlist)
        await super().shutdown(sockets)


def _port_of(servers: list[Any]) -> int | None:
    for server in servers:
        for sock in server.sockets or ():
            name = sock.getsockname()
            if isinstance(name, tuple) and len(name) >= 2:
                return int(name[1])
    return None
