"""The web panel: server-rendered pages (Jinja2, autoescaped) with a little hand-written
JavaScript for the live parts, which read the API's SSE streams.

Mounted by :func:`install_panel`::

    app.include_router(panel_router())
    app.mount(STATIC_URL, panel_static(), name="panel-static")
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hoist.server.panel.routes import panel_router
from hoist.server.panel.templating import STATIC_DIR

__all__ = ["STATIC_URL", "install_panel", "panel_router", "panel_static"]

STATIC_URL = "/static"
"""Where the panel's CSS and JavaScript are served."""


def panel_static() -> StaticFiles:
    """The panel's static files (CSS, JavaScript)."""
    return StaticFiles(directory=STATIC_DIR)


def install_panel(app: FastAPI) -> None:
    """Add the panel's pages and static files to ``app``."""
    app.include_router(panel_router())
    app.mount(STATIC_URL, panel_static(), name="panel-static")
