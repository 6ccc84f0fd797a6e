"""The panel's router: login, runs, locks, plugins, services, launch and deployments
pages (kept out of the OpenAPI schema; the API documents itself under ``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter

from hoist.server.panel import (
    auth_pages,
    deployment_pages,
    lock_pages,
    plugin_pages,
    rerun_pages,
    run_pages,
    service_pages,
)

__all__ = ["panel_router"]


def panel_router() -> APIRouter:
    """A new router holding every panel page (include it in the app at the root)."""
    router = APIRouter(include_in_schema=False)
    pages = (auth_pages, run_pages, lock_pages, plugin_pages, service_pages, deployment_pages,
             rerun_pages)  # fmt: skip
    for module in pages:
        router.include_router(module.router)
    return router
