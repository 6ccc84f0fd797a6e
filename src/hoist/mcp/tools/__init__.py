"""The MCP server's tools: fixed ones (catalog, runs, services, deployments) and one per
exposed action, all listed and dispatched through :func:`available_tools`."""

from __future__ import annotations

import time

from hoist.mcp.tools.base import Tool, ToolContext
from hoist.mcp.tools.catalog import action_tools, catalog_tools, find_action_tool, tool_name
from hoist.mcp.tools.runs import run_tools, run_view
from hoist.mcp.tools.services import service_tools

__all__ = [
    "FIXED_TOOLS",
    "Tool",
    "ToolContext",
    "available_tools",
    "find_tool",
    "recent_tool",
    "run_view",
    "tool_name",
]

FIXED_TOOLS: tuple[Tool, ...] = (*catalog_tools(), *run_tools(), *service_tools())
"""The tools every server offers, whatever its plugins."""


def available_tools(ctx: ToolContext) -> dict[str, Tool]:
    """Every tool of ``ctx``'s exposure, by name: the fixed ones, then one per exposed
    action (``tools/list`` then leaves out those the caller's role may not call, and a
    call of one anyway is refused)."""
    tools = {tool.name: tool for tool in FIXED_TOOLS}
    for tool in action_tools(ctx):
        tools.setdefault(tool.name, tool)
    return tools


def find_tool(ctx: ToolContext, name: str) -> Tool | None:
    """The tool called ``name`` (``None``: no such tool, or not exposed). May read the
    plugin folders: call it in a worker thread (:func:`recent_tool` first)."""
    found = _FIXED_BY_NAME.get(name) or find_action_tool(ctx, name)
    if found is not None:
        _RECENT[_key(ctx, name)] = (found, time.monotonic() + ctx.state.catalog.ttl)
    return found


def recent_tool(ctx: ToolContext, name: str) -> Tool | None:
    """The tool called ``name`` when it is fixed or was found within the catalog's
    reuse interval (so as fresh as the catalog itself); ``None``: ask :func:`find_tool`.
    Reads nothing: callable on the event loop."""
    fixed = _FIXED_BY_NAME.get(name)
    if fixed is not None:
        return fixed
    entry = _RECENT.get(_key(ctx, name))
    if entry is None or entry[1] < time.monotonic():
        return None
    return entry[0]


def _key(ctx: ToolContext, name: str) -> tuple[int, tuple[str, ...], str]:
    # One process may serve several catalogs and exposures (stdio and HTTP servers).
    return id(ctx.state.catalog), ctx.exposure.patterns, name


_FIXED_BY_NAME = {tool.name: tool for tool in FIXED_TOOLS}
_RECENT: dict[tuple[int, tuple[str, ...], str], tuple[Tool, float]] = {}
