"""The MCP server's tools: fixed ones (catalog, runs, services, deployments) and one per
exposed action, all listed and dispatched through :func:`available_tools`."""

from __future__ import annotations

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
    """The tool called ``name`` (``None``: no such tool, or not exposed)."""
    return _FIXED_BY_NAME.get(name) or find_action_tool(ctx, name)


_FIXED_BY_NAME = {tool.name: tool for tool in FIXED_TOOLS}
