"""Tools on agent services and deployments: list and launch the registered services,
list and invoke the named deployments (the same functions as the API's routes)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from pydantic import BaseModel, Field

from hoist.mcp.tools.base import AnsweredError, NoArguments, Tool, ToolContext, model_tool
from hoist.server import service_calls
from hoist.server.accounts import Role
from hoist.server.api.deployments import deployment_info, envelope_status

__all__ = ["service_tools"]


class _LaunchArguments(BaseModel):
    model_config = {"extra": "forbid"}
    service_id: str = Field(min_length=1, max_length=200, description="The service's id.")
    path: str = Field("/", max_length=2000, description="The endpoint's path, e.g. `/`.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="The endpoint's form values.")


class _InvokeArguments(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1, max_length=200, description="The deployment's name.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="The inputs to call it with.")


async def _list_services(ctx: ToolContext, _: NoArguments) -> dict[str, Any]:
    services = await anyio.to_thread.run_sync(ctx.state.services.all)
    return {"services": [s.model_dump(mode="json") for s in services]}


async def _launch_service(ctx: ToolContext, args: _LaunchArguments) -> dict[str, Any]:
    state = ctx.state
    service = await anyio.to_thread.run_sync(state.services.get, args.service_id)
    answer = await service_calls.launch(
        state.services.client, service, args.path, args.inputs,
        secret=state.settings.service_secret,
        user=ctx.caller.name, role=str(ctx.caller.role or Role.OPERATOR),
    )  # fmt: skip
    if answer.status != 202:
        raise AnsweredError(answer.status, answer.body)
    return dict(answer.body)


async def _list_deployments(ctx: ToolContext, _: NoArguments) -> dict[str, Any]:
    records = await anyio.to_thread.run_sync(ctx.state.deployments.list)
    return {"deployments": [deployment_info(r).model_dump(mode="json") for r in records]}


async def _invoke_deployment(ctx: ToolContext, args: _InvokeArguments) -> dict[str, Any]:
    envelope = await anyio.to_thread.run_sync(ctx.state.deployments.invoke, args.name, args.inputs)
    status = envelope_status(envelope)
    if status != 200:
        raise AnsweredError(status, envelope)
    return dict(envelope)


def service_tools() -> list[Tool]:
    """The tools on services and deployments."""
    operator: dict[str, Any] = {"role": Role.OPERATOR, "read_only": False}
    return [
        model_tool("list_services", NoArguments, _list_services,
                   "List the registered agent services with their endpoints (each endpoint "
                   "launches with launch_service).", title="List services"),
        model_tool("launch_service", _LaunchArguments, _launch_service,
                   "Launch a registered service's endpoint with its form values, as the "
                   "caller; answers the new run's id (follow it with wait_run).",
                   title="Launch a service", **operator),
        model_tool("list_deployments", NoArguments, _list_deployments,
                   "List the named deployments (strategy, version, status, endpoint).",
                   title="List deployments"),
        model_tool("invoke_deployment", _InvokeArguments, _invoke_deployment,
                   "Call a running deployment with inputs; answers its envelope.",
                   title="Invoke a deployment", **operator),
    ]  # fmt: skip
