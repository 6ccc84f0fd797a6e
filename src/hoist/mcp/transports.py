"""The MCP server's transports: stdio (a local client starts ``hoist mcp``; it acts as the
local user) and streamable HTTP (remote clients; a bearer API token names the account,
with the server's roles), mounted in ``hoist serve`` under ``/mcp`` or standalone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hoist.mcp.access import Caller
from hoist.mcp.server import PRINCIPAL_SCOPE_KEY, create_mcp_server
from hoist.server.auth import Authenticator, CredentialCheck
from hoist.server.state import ServerState
from hoist.settings import Settings

__all__ = ["MCP_PATH", "http_app", "mount_mcp", "run_stdio"]

MCP_PATH = "/mcp"
"""Where the streamable HTTP transport answers (in ``hoist serve`` and standalone)."""
_METHODS = ["GET", "POST", "DELETE"]


async def run_stdio(settings: Settings) -> None:
    """Serve MCP over this process's stdin and stdout until the client closes them, as
    the local user, on the store and plugins ``settings`` name. Runs still going when
    the client leaves are cancelled (they are recorded ``cancelled``)."""
    from mcp.server.stdio import stdio_server

    from hoist.mcp.stdio import stdio_wire

    state = await anyio.to_thread.run_sync(ServerState, settings)
    server = create_mcp_server(state)
    try:
        async with _background(state), stdio_wire() as wire:
            streams = stdio_server() if wire is None else stdio_server(*wire)
            async with streams as (read, write):
                await server.run(read, write, server.create_initialization_options())
    finally:
        await state.hub.close()
        await anyio.to_thread.run_sync(state.close)


@asynccontextmanager
async def _background(state: ServerState) -> AsyncIterator[None]:
    """What a server process runs beside its requests: the store's maintenance (runs of
    dead workers end) and the services' refresh."""
    state.maintenance.start()
    state.services.start(())
    try:
        yield
    finally:
        await state.services.stop()
        await state.maintenance.stop()


class BearerCaller:
    """ASGI middleware: authenticate the bearer API token (the server's accounts and
    tokens), put its :class:`Caller` in the scope, or answer 401.

    Only a bearer token is taken (never a session cookie), so a web page cannot make a
    logged-in browser call the MCP endpoint: there is no ambient credential to abuse.

    A request may outlive its authentication (the session's GET stream, a ``tools/call``
    that waits for a run): like the server's own streams, it re-checks the token
    (:meth:`~hoist.server.auth.Authenticator.watch`) and ends once the token is revoked
    or expired or its user deactivated.
    """

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        principal = None
        if scheme.lower() == "bearer" and token.strip():
            token = token.strip()
            principal = self.auth.recent_token(token)
            if principal is None:
                principal = await anyio.to_thread.run_sync(self.auth.authenticate, token, None)
                if principal is not None:
                    self.auth.remember_token(token, principal)
        if principal is None or principal.worker:  # a worker token is for /ingest only
            await _refuse(send)
            return
        scope[PRINCIPAL_SCOPE_KEY] = Caller.of(principal)
        await _while_valid(self.app, scope, receive, send, self.auth.watch(principal))


async def _while_valid(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, check: CredentialCheck
) -> None:
    """Run ``app`` until it is done or ``check`` finds the credential gone; then end its
    response: the body so far, closed (or a 401 if nothing was sent yet)."""
    started = finished = revoked = False

    async def sending(message: Message) -> None:
        nonlocal started, finished
        if message["type"] == "http.response.start":
            started = True
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            finished = True
        await send(message)

    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal revoked
            while await check.holds():
                await anyio.sleep(check.due_in())
            revoked = True
            group.cancel_scope.cancel()

        group.start_soon(watch)
        await app(scope, receive, sending)
        group.cancel_scope.cancel()
    if revoked and not finished:
        if started:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await _refuse(send)


async def _refuse(send: Send) -> None:
    body = json.dumps({"detail": "authentication required: send an API token as "
                       "'Authorization: Bearer <token>'"}).encode()  # fmt: skip
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
        (b"content-length", str(len(body)).encode()),
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _caller_of(request: Any) -> Caller | None:
    scope = getattr(request, "scope", None)
    found = None if scope is None else scope.get(PRINCIPAL_SCOPE_KEY)
    return found if isinstance(found, Caller) else None


def _session_manager(server: Server[Any]) -> StreamableHTTPSessionManager:
    # Bearer tokens only (see BearerCaller): a rebinding page has no credential to send,
    # and behind a proxy the Host header is the proxy's to choose.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return StreamableHTTPSessionManager(app=server, security_settings=security)


def _endpoint(state: ServerState) -> tuple[Route, StreamableHTTPSessionManager]:
    server = create_mcp_server(state, caller_of=_caller_of)
    manager = _session_manager(server)

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        await manager.handle_request(scope, receive, send)

    route = Route(MCP_PATH, endpoint=BearerCaller(handle, state.auth), methods=_METHODS)
    return route, manager


def mount_mcp(app: Starlette) -> None:
    """Serve MCP at :data:`MCP_PATH` in a Hoist server app (``create_app``), on its own
    state, accounts and roles; the session manager runs with the app's lifespan."""
    state: ServerState = app.state.hoist
    route, manager = _endpoint(state)
    app.router.routes.insert(0, route)
    app.router.lifespan_context = _also(app.router.lifespan_context, manager.run)


def _also(
    lifespan: Callable[[Any], AbstractAsyncContextManager[Any]],
    extra: Callable[[], AbstractAsyncContextManager[Any]],
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def both(app: Any) -> AsyncIterator[Any]:
        async with lifespan(app) as value, extra():
            yield value

    return both


def http_app(settings: Settings) -> Starlette:
    """A standalone MCP server over streamable HTTP (only :data:`MCP_PATH`), on the store,
    accounts and plugins ``settings`` name; API tokens come from ``hoist tokens create``
    (or a server's panel) on the same store."""
    state = ServerState(settings)
    route, manager = _endpoint(state)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with _background(state), manager.run():
                yield
        finally:
            await state.hub.close()
            await anyio.to_thread.run_sync(state.close)

    app = Starlette(routes=[route], lifespan=lifespan)
    app.state.hoist = state
    return app
