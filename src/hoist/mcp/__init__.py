"""Hoist's MCP server: AI agents discover, launch and watch Hoist's actions, pipelines,
services and deployments through the Model Context Protocol (the official ``mcp`` SDK).

- ``hoist mcp`` (or ``python -m hoist.mcp``): stdio, for a local client; acts as the
  local user on the local store and plugins.
- ``hoist serve`` serves it at ``/mcp`` (streamable HTTP) beside the API, with the
  server's accounts (a bearer API token; viewers read, operators launch);
  ``hoist mcp --transport http`` serves it alone.
- ``hoist mcp config`` prints what a client's configuration needs.

Settings: ``HOIST_MCP_EXPOSE`` names the plugins and actions agents see;
``HOIST_MCP_CALL_WAIT`` how long an action tool waits for its run before answering its id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hoist._lazy import lazy_getattr

if TYPE_CHECKING:
    from hoist.mcp.access import Caller, Exposure
    from hoist.mcp.client_config import client_config
    from hoist.mcp.server import create_mcp_server
    from hoist.mcp.transports import MCP_PATH, http_app, mount_mcp, run_stdio

__all__ = [
    "MCP_PATH",
    "Caller",
    "Exposure",
    "client_config",
    "create_mcp_server",
    "http_app",
    "mount_mcp",
    "run_stdio",
]

_EXPORTS = {
    "Caller": "hoist.mcp.access",
    "Exposure": "hoist.mcp.access",
    "client_config": "hoist.mcp.client_config",
    "create_mcp_server": "hoist.mcp.server",
    "MCP_PATH": "hoist.mcp.transports",
    "http_app": "hoist.mcp.transports",
    "mount_mcp": "hoist.mcp.transports",
    "run_stdio": "hoist.mcp.transports",
}

__getattr__: Any = lazy_getattr(__name__, _EXPORTS, globals())
