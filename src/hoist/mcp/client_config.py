"""What an MCP client needs to reach Hoist: the ``mcpServers`` entry of Claude Desktop's
(and most IDE assistants') configuration, for stdio and for streamable HTTP."""

from __future__ import annotations

import os
import sys
from typing import Any

from hoist.settings import Settings

__all__ = ["client_config"]

_ENV = ("HOIST_HOME", "HOIST_DATABASE_URL", "HOIST_PLUGIN_PATHS", "HOIST_MCP_EXPOSE",
        "HOIST_RAY_ADDRESS", "HOIST_STORAGE_CONFIG", "HOIST_ARTIFACTS")  # fmt: skip


def client_config(
    settings: Settings,
    *,
    url: str | None = None,
    name: str = "hoist",
    token_placeholder: str = "<your API token: hoist tokens create>",
) -> dict[str, Any]:
    """The ``{"mcpServers": {name: ...}}`` snippet.

    Args:
        settings: the settings the stdio server should run with (written as its
            environment, so the client starts it on the same store and plugins; a
            database URL's password is never written, and neither is any token).
        url: a Hoist server's base URL: the HTTP entry (``<url>/mcp`` with a bearer
            token header) instead of the stdio one.
        name: the server's name in the client.
        token_placeholder: what stands where the API token goes.
    """
    if url is not None:
        entry: dict[str, Any] = {
            "type": "http",
            "url": url.rstrip("/") + "/mcp",
            "headers": {"Authorization": f"Bearer {token_placeholder}"},
        }
        return {"mcpServers": {name: entry}}
    values = {
        "HOIST_HOME": str(settings.home),
        "HOIST_DATABASE_URL": _without_password(settings.database_url),
        "HOIST_PLUGIN_PATHS": os.pathsep.join(
            str(p.resolve()) for p in settings.plugin_search_paths
        ),
        "HOIST_MCP_EXPOSE": ",".join(settings.mcp_expose),
        "HOIST_RAY_ADDRESS": settings.ray_address,
        "HOIST_STORAGE_CONFIG": None
        if settings.storage_config is None
        else str(settings.storage_config),
        "HOIST_ARTIFACTS": settings.artifacts,
    }
    env = {k: v for k in _ENV if (v := values.get(k))}
    entry = {"command": sys.executable, "args": ["-m", "hoist.mcp"], "env": env}
    return {"mcpServers": {name: entry}}


def _without_password(url: str | None) -> str | None:
    if not url:
        return None
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.render_as_string(hide_password=True) if parsed.password else url
