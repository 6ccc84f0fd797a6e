"""The MCP server: Hoist's tools, resources and prompts on the official SDK's low-level
``Server``, over a :class:`~hoist.server.state.ServerState` (the same catalog, launcher,
store, services and deployments the REST API uses).

The tool list is computed at each ``tools/list`` from the catalog, the exposure
settings and the caller's role (a viewer is not offered the tools that launch; calling
one anyway is refused). Who the caller is comes from the transport: the bearer token an
HTTP request was authenticated with (:mod:`hoist.mcp.transports`), else the local user.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from hoist._version import __version__
from hoist.errors import HoistError
from hoist.mcp.access import Caller, Exposure
from hoist.mcp.prompts import PROMPTS, get_prompt
from hoist.mcp.resources import RESOURCE_TEMPLATES, list_resources, read_resource
from hoist.mcp.tools import ToolContext, available_tools, find_tool, recent_tool
from hoist.mcp.tools.base import Progress, after_writes
from hoist.server.errors import hoist_error_response
from hoist.server.state import ServerState

__all__ = ["PRINCIPAL_SCOPE_KEY", "create_mcp_server", "local_caller"]

PRINCIPAL_SCOPE_KEY = "hoist.mcp.caller"
"""Where the HTTP transport puts the authenticated :class:`Caller` in the ASGI scope."""

INSTRUCTIONS = """\
Hoist runs a team's packaged plugin actions and pipelines and records every run.
Start with list_plugins (or the pick_action prompt); describe_action gives an action's
params schema. Each action has its own tool (named plugin__action) whose arguments are
its params; it answers the result, or a run id to follow with wait_run when the run
takes longer. get_run, run_events, cancel_run and resume_run act on runs by id; runs
and plugin files are also resources (hoist://runs/{id}).
"""


def local_caller() -> Caller:
    """The local user a stdio server acts as (every right the process has)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        name = "local"
    return Caller(name)


def create_mcp_server(
    state: ServerState, *, caller_of: Callable[[Any], Caller | None] | None = None
) -> Server[Any]:
    """Build the MCP server over ``state``.

    Args:
        state: the server resources the tools act on.
        caller_of: who a request (the transport's request object, ``None`` over stdio)
            acts as; ``None`` when it is not authenticated (then every call is refused).
            Default: the local user, always.
    """
    exposure = Exposure(state.settings.mcp_expose)
    local = local_caller()
    resolve = caller_of or (lambda request: local)

    def caller(ctx: ServerRequestContext[Any]) -> Caller:
        found = resolve(ctx.request)
        if found is None:
            raise MCPError(types.INVALID_REQUEST, "authentication required")
        return found

    def tool_context(ctx: ServerRequestContext[Any]) -> ToolContext:
        return ToolContext(state, caller(ctx), exposure, _progress_of(ctx))

    async def on_list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        call = tool_context(ctx)
        tools = await anyio.to_thread.run_sync(available_tools, call)
        shown = [t.spec() for t in tools.values() if call.caller.allows(t.role)]
        return types.ListToolsResult(tools=shown)

    async def on_call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        call = tool_context(ctx)
        tool = recent_tool(call, params.name)
        if tool is None:
            tool = await anyio.to_thread.run_sync(find_tool, call, params.name)
        if tool is None:
            raise MCPError(types.INVALID_PARAMS, f"no tool named {params.name!r}")
        return await tool.call(call, params.arguments or {})

    async def on_list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        caller(ctx)
        await after_writes(state)
        found = await anyio.to_thread.run_sync(list_resources, state, exposure)
        return types.ListResourcesResult(resources=found)

    async def on_list_resource_templates(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        caller(ctx)
        return types.ListResourceTemplatesResult(resource_templates=RESOURCE_TEMPLATES)

    async def on_read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        who = caller(ctx)
        uri = str(params.uri)
        try:
            await after_writes(state)
            contents = await anyio.to_thread.run_sync(read_resource, state, exposure, who, uri)
        except HoistError as exc:
            raise _protocol_error(exc) from None
        return types.ReadResourceResult(contents=contents)

    async def on_list_prompts(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        caller(ctx)
        return types.ListPromptsResult(prompts=[p.spec for p in PROMPTS.values()])

    async def on_get_prompt(
        ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        caller(ctx)
        try:
            await after_writes(state)
            return await anyio.to_thread.run_sync(
                get_prompt, state, exposure, params.name, params.arguments
            )
        except HoistError as exc:
            raise _protocol_error(exc) from None

    return Server(
        "hoist",
        version=__version__,
        title="Hoist",
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        on_list_resources=on_list_resources,
        on_list_resource_templates=on_list_resource_templates,
        on_read_resource=on_read_resource,
        on_list_prompts=on_list_prompts,
        on_get_prompt=on_get_prompt,
    )


def _progress_of(ctx: ServerRequestContext[Any]) -> Progress | None:
    """Progress notifications for this request; ``None`` when its client asked for none."""
    meta = ctx.meta or {}
    if meta.get("progress_token", meta.get("progressToken")) is None:
        return None
    session = ctx.session

    async def report(progress: float, total: float | None, message: str | None) -> None:
        await session.report_progress(progress, total, message)

    return report


def _protocol_error(exc: HoistError) -> MCPError:
    """A resource or prompt error as a JSON-RPC error, with the API's message for the
    same error (never a secret or a server path)."""
    response = hoist_error_response(exc)
    detail = json.loads(bytes(response.body)).get("detail", "failed")
    code = types.INVALID_PARAMS if response.status_code < 500 else types.INTERNAL_ERROR
    return MCPError(code, str(detail))
