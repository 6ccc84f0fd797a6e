"""What an MCP client needs to reach Hoist: the ``mcpServers`` entry of Claude Desktop's
(and most IDE assistants') configuration, for stdio and for streamable HTTP."""

from __future__ import annotations

import sys
from typing import Any

from hoist.settings import Settings

__all__ = ["client_config"]


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
            environment, with absolute paths, so the client starts it on the same store
            and plugins from any folder; a database URL's password is never written, and
            neither is any token).
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
    # The client starts the server from a folder of its own: paths as meant here.
    storage = settings.storage_config
    here = settings.with_(
        home=settings.home.resolve(), storage_config=None if storage is None else storage.resolve()
    )
    env = here.process_environ(passwords=False)
    entry = {"command": sys.executable, "args": ["-m", "hoist.mcp"], "env": env}
    return {"mcpServers": {name: entry}}
