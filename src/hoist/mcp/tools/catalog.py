"""Tools from the plugin catalog: what exists, and one tool per exposed action.

One tool per action (rather than one ``run_action`` tool taking a name and a free-form
``params`` object): each tool's input schema *is* the action's params JSON Schema, so
an agent sees every field, its type, its bounds and its description before it calls,
and the client can validate the arguments itself. The catalog decides the list at each
``tools/list`` (a plugin added to the folder appears without a restart). Pipelines run
through ``run_pipeline`` (their params are the union of their nodes').
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, Field

from hoist.errors import HoistError
from hoist.mcp.tools.base import NoArguments, Tool, ToolContext, model_tool
from hoist.mcp.tools.runs import launch_and_wait
from hoist.plugins.definition import PluginDefinition
from hoist.server.accounts import Role
from hoist.server.catalog import describe_action, describe_plugin
from hoist.server.schemas import NAME_PATTERN, LaunchRequest

__all__ = ["action_tools", "catalog_tools", "find_action_tool", "tool_name"]

_MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(plugin: str, action: str) -> str:
    """The tool name of ``plugin``'s ``action``: ``plugin__action`` in the characters
    every client accepts, at most 64 long (a long one ends with a hash of the whole)."""
    name = _UNSAFE.sub("_", f"{plugin}__{action}")
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(f"{plugin}\0{action}".encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}_{digest}"


def _exposed_plugins(ctx: ToolContext) -> Iterator[PluginDefinition]:
    for plugin in ctx.state.catalog.plugins():
        if ctx.exposure.plugin(plugin.code):
            yield plugin


def action_tools(ctx: ToolContext) -> list[Tool]:
    """A tool for each exposed action of each plugin (a broken action is left out; its
    plugin's other actions stay)."""
    tools = []
    for plugin in _exposed_plugins(ctx):
        for name in plugin.action_names():
            if not ctx.exposure.action(plugin.code, name):
                continue
            try:
                described = describe_action(plugin, name)
            except HoistError:
                continue
            tools.append(_action_tool(plugin.code, name, described))
    return tools


def find_action_tool(ctx: ToolContext, name: str) -> Tool | None:
    """The exposed action tool called ``name``, describing only that action (once per
    action class: a changed plugin file loads a new class, so a new description);
    ``None`` when there is none."""
    for plugin in _exposed_plugins(ctx):
        for action in plugin.action_names():
            if tool_name(plugin.code, action) == name and ctx.exposure.action(plugin.code, action):
                key = (plugin.code, action, plugin.load_action(action))
                found = _DESCRIBED.get(key)
                if found is None:
                    if len(_DESCRIBED) > _DESCRIBED_MAX:
                        _DESCRIBED.clear()
                    found = _DESCRIBED[key] = _action_tool(
                        plugin.code, action, describe_action(plugin, action)
                    )
                return found
    return None


_DESCRIBED: dict[tuple[str, str, type], Tool] = {}
_DESCRIBED_MAX = 1000


def _action_tool(plugin: str, action: str, described: dict[str, Any]) -> Tool:
    about = described["description"] or described["title"]

    async def run(ctx: ToolContext, params: dict[str, Any]) -> dict[str, Any]:
        request = LaunchRequest(plugin=plugin, action=action, params=params)
        return await launch_and_wait(ctx, request, ctx.state.settings.mcp_call_wait)

    return Tool(
        name=tool_name(plugin, action),
        title=f"{plugin}: {described['title']}",
        description=(
            f"Run the `{action}` action of the `{plugin}` plugin. {about}\n"
            "Answers its result when it ends within the server's call wait; else its run "
            "id (follow with wait_run). Progress is reported while it runs."
        ),
        input_schema=described["params_schema"],
        run=run,
        role=Role.OPERATOR,
        read_only=False,
        meta={"plugin": plugin, "action": action},
        launches_only=True,
    )


class _PluginArguments(BaseModel):
    model_config = {"extra": "forbid"}
    plugin: str = Field(pattern=NAME_PATTERN, description="The plugin's code.")


class _ActionArguments(_PluginArguments):
    action: str = Field(pattern=NAME_PATTERN, description="The action's name.")


class _PipelineArguments(_PluginArguments):
    pipeline: str = Field(pattern=NAME_PATTERN, description="The pipeline's name.")
    params: dict[str, Any] = Field(default_factory=dict, description="The pipeline's params.")
    wait_seconds: float = Field(
        10.0, ge=0, le=3600, description="How long to wait for the run to end (0: not at all)."
    )


async def _list_plugins(ctx: ToolContext, _: NoArguments) -> dict[str, Any]:
    def read() -> list[dict[str, Any]]:
        found = []
        for plugin in _exposed_plugins(ctx):
            about = describe_plugin(plugin)
            actions = [a for a in about.pop("action_names") if ctx.exposure.action(plugin.code, a)]
            about["actions"] = [
                {"name": a, "tool": tool_name(plugin.code, a),
                 "description": plugin.action_config(a).description or ""}
                for a in actions
            ]  # fmt: skip
            about["pipelines"] = [
                p for p in about["pipelines"] if ctx.exposure.action(plugin.code, p["name"])
            ]
            found.append(about)
        return found

    return {"plugins": await anyio.to_thread.run_sync(read)}


async def _describe_action(ctx: ToolContext, args: _ActionArguments) -> dict[str, Any]:
    ctx.exposure.check(args.plugin, args.action)

    def read() -> dict[str, Any]:
        plugin = ctx.state.catalog.get(args.plugin)
        plugin.action_config(args.action)  # an unknown action: its error names the others
        return {**describe_action(plugin, args.action), "tool": tool_name(args.plugin, args.action)}

    return await anyio.to_thread.run_sync(read)


async def _run_pipeline(ctx: ToolContext, args: _PipelineArguments) -> dict[str, Any]:
    ctx.exposure.check(args.plugin, args.pipeline)
    request = LaunchRequest(plugin=args.plugin, pipeline=args.pipeline, params=args.params)
    return await launch_and_wait(ctx, request, args.wait_seconds)


def catalog_tools() -> list[Tool]:
    """The catalog's fixed tools."""
    return [
        model_tool("list_plugins", NoArguments, _list_plugins,
                   "List the plugins exposed to agents: each one's actions (with the tool "
                   "that runs each), pipelines, category, version and description.",
                   title="List plugins"),
        model_tool("describe_action", _ActionArguments, _describe_action,
                   "Describe one action: its params JSON Schema, its result schema, its "
                   "input and output types (for chaining) and the tool that runs it.",
                   title="Describe an action"),
        model_tool("run_pipeline", _PipelineArguments, _run_pipeline,
                   "Start a pipeline of a plugin with its params; waits up to wait_seconds "
                   "for it to end (reporting progress), else answers its run id.",
                   title="Run a pipeline", role=Role.OPERATOR, read_only=False,
                   launches_only=True),
    ]  # fmt: skip
