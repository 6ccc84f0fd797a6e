"""The app factory: routes, middleware, error handlers, and a lifespan that owns the
store, the event hub and the executors."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from hoist._version import __version__
from hoist.runs.runtime import Runtime
from hoist.server.accounts.bootstrap import ADMIN_USERNAME
from hoist.server.api import (
    API_PREFIX,
    auth,
    deployments,
    ingest,
    locks,
    plugins,
    runs,
    services,
    strategies,
    system,
    tokens,
    users,
)
from hoist.server.auth import RECHECK_INTERVAL
from hoist.server.errors import install_error_handlers
from hoist.server.metrics import MetricsMiddleware
from hoist.server.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from hoist.server.openapi import install_openapi
from hoist.server.panel import install_panel
from hoist.server.service_calls import UPLOAD_PATHS
from hoist.server.state import ServerState
from hoist.settings import Settings

__all__ = ["API_PREFIX", "MAX_HEADER_BYTES", "create_app", "uvicorn_options"]

MAX_HEADER_BYTES = 32 * 1024
"""The most a request line and its headers may take; beyond it the connection gets a 400
and is closed before more is read (so headers can never fill the server's memory)."""


def uvicorn_options(settings: Settings | None = None) -> dict[str, Any]:
    """The uvicorn options every server of the app runs with (``hoist serve``, the tests').

    The h11 parser, because it bounds what it buffers before a request is complete at
    :data:`MAX_HEADER_BYTES` (httptools, uvicorn's default when installed, buffers
    headers of any size). ``X-Forwarded-For``/``-Proto`` are believed only from
    ``settings.trusted_proxies`` (none without settings): uvicorn's own default trusts
    them from 127.0.0.1, which lets a local client pick the address logins are
    throttled by.
    """
    trusted = list(settings.trusted_proxies) if settings is not None else []
    proxies = {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}
    return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEADER_BYTES, **proxies}


def create_app(
    settings: Settings,
    runtime: Runtime | None = None,
    *,
    keepalive: float = 15.0,
    poll_interval: float = 0.02,
    recheck_interval: float = RECHECK_INTERVAL,
    register: Sequence[str] = (),
) -> FastAPI:
    """Build the Hoist server app.

    Args:
        settings: the server's settings (store, secret, CORS, body limit, ...).
        runtime: the store to serve; default: one built from ``settings`` and closed
            with the app.
        keepalive: seconds between SSE keep-alive comments.
        poll_interval: seconds between the event hub's store reads while streams are open.
        recheck_interval: seconds between re-checks of an open stream's credential (a
            stream ends this long at most after its token is revoked or its user
            deactivated).
        register: service URLs to register at start-up, in the background
            (``hoist serve --register``); one registered already is read again.

    Returns:
        A FastAPI app; the first admin account is created at start-up when there are no
        accounts (its generated password printed once to stderr).
    """
    state = ServerState(
        settings,
        runtime,
        keepalive=keepalive,
        poll_interval=poll_interval,
        recheck_interval=recheck_interval,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        password = await anyio.to_thread.run_sync(state.bootstrap)
        if password is not None:
            _announce(password)
        state.maintenance.start()  # ends the runs of dead workers and servers
        state.services.start(register)  # reads services in the background, never waited on
        try:
            yield
        finally:
            await state.services.stop()
            await state.maintenance.stop()
            await state.hub.close()
            await anyio.to_thread.run_sync(state.close)

    app = FastAPI(
        title="Hoist",
        version=__version__,
        description="Run typed plugin actions and pipelines; watch them live.",
        lifespan=lifespan,
        openapi_url=None,  # served under /api/v1, behind authentication
        docs_url=None,
        redoc_url=None,
    )
    app.state.hoist = state
    install_error_handlers(app)
    routers = (system, auth, users, tokens, plugins, runs, locks, services, ingest,
               deployments, strategies)  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    app.include_router(system.metrics_router)
    install_panel(app)  # the web panel's pages and static files
    install_openapi(app)  # after every route: the document lists them all
    # Added innermost first: metrics see every response, the body limit runs last.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        origins = list(settings.cors_origins)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials="*" not in origins,  # never credentials for any origin
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "Last-Event-ID"],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app


def _announce(password: str) -> None:
    line = "=" * 64
    print(
        f"{line}\nCreated the first Hoist account.\n  username: {ADMIN_USERNAME}\n"
        f"  password: {password}\nIt is shown only this once: keep it somewhere safe.\n{line}",
        file=sys.stderr,
        flush=True,
    )
