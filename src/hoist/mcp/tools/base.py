"""What every MCP tool is: a name, a description, an input schema, a role it needs, and
an async function of a :class:`ToolContext` and its validated arguments.

A tool's answer is JSON data, sent both as the call's ``structured_content`` and as
its text; a refusal or a failure becomes an error result (``is_error``) whose body is
the API's error body for the same error (``detail``, ``errors`` by field for bad
params, ``status``: the HTTP status the API would answer), so a bad call never ends
the session.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import mcp_types as types
from pydantic import BaseModel, ValidationError

from hoist.errors import HoistError, ParamsValidationError, field_errors_from_pydantic
from hoist.mcp.access import Caller, Exposure, NotExposedError, RoleRefusedError
from hoist.server.accounts import Role
from hoist.server.errors import hoist_error_response
from hoist.server.state import ServerState

__all__ = [
    "NO_PROGRESS",
    "AnsweredError",
    "NoArguments",
    "Progress",
    "Tool",
    "ToolContext",
    "error_result",
    "json_result",
    "model_tool",
]

_log = logging.getLogger("hoist.mcp")

Progress = Callable[[float, float | None, str | None], Awaitable[None]]
"""Reports progress to the client waiting on the call (a no-op when it asked for none)."""


class NoArguments(BaseModel):
    """The arguments of a tool that takes none (any argument is refused)."""

    model_config = {"extra": "forbid"}


class AnsweredError(HoistError):
    """Something the tool called answered with a refusal: its status and body are the
    tool's error (a service's 422 with its field errors, a deployment's envelope)."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        detail = body.get("detail") or body.get("error") or f"refused ({status})"
        super().__init__(str(detail))
        self.status = status
        self.body = dict(body)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool call may use.

    Attributes:
        state: the server's resources (catalog, launcher, store, services, deployments).
        caller: who the call acts as.
        exposure: the plugins and actions agents may use.
        progress: sends progress notifications to the waiting client (``None``: it
            asked for none).
    """

    state: ServerState
    caller: Caller
    exposure: Exposure
    progress: Progress | None


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Tool:
    """One MCP tool.

    Attributes:
        name: the tool's name (``[A-Za-z0-9_-]``, at most 64 characters).
        description: what it does, for the agent.
        input_schema: the JSON Schema of its arguments.
        run: the coroutine doing the work; gets the validated arguments.
        validate: turns the raw arguments into what ``run`` takes.
        role: the role a caller needs.
        read_only: it changes nothing (a hint to clients).
        title: a short human name.
        launches_only: it starts a run and reads nothing stored: it skips
            :func:`after_writes` (back-to-back launches never wait on a commit).
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    run: Callable[[ToolContext, Any], Awaitable[Any]]
    validate: Callable[[Mapping[str, Any]], Any] = dict
    role: Role = Role.VIEWER
    read_only: bool = True
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    launches_only: bool = False

    def spec(self) -> types.Tool:
        """The tool as ``tools/list`` describes it."""
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.input_schema,
            annotations=types.ToolAnnotations(
                title=self.title,
                read_only_hint=self.read_only,
                destructive_hint=False,
                open_world_hint=False,
            ),
        )

    async def call(self, ctx: ToolContext, arguments: Mapping[str, Any]) -> types.CallToolResult:
        """Check the caller's role, validate the arguments, run; every error becomes an
        error result."""
        try:
            ctx.caller.require(self.role, f"the {self.name} tool")
            if not self.launches_only:
                await after_writes(ctx.state)
            return json_result(await self.run(ctx, self.validate(arguments)))
        except Exception as exc:
            return error_result(exc)


async def after_writes(state: ServerState) -> None:
    """Let what this process emitted land in the store before a read: a run launched by
    an earlier call is answered from memory and written by the sink within its batch
    interval, and whatever the next request reads must see it. Free when nothing is
    waiting to be written (no thread hop).

    Raises:
        StoreUnwritableError, StoreError: the writes could not land.
    """
    if state.sink.unwritten():
        await anyio.to_thread.run_sync(state.sink.flush)


def model_tool(
    name: str,
    model: type[BaseModel],
    run: Callable[[ToolContext, Any], Awaitable[Any]],
    description: str,
    **options: Any,
) -> Tool:
    """A tool whose arguments are the pydantic ``model`` (its schema, its validation)."""

    def validate(arguments: Mapping[str, Any]) -> BaseModel:
        try:
            return model.model_validate(dict(arguments))
        except ValidationError as exc:
            raise ParamsValidationError(
                field_errors_from_pydantic(exc.errors()), subject="arguments"
            ) from None

    return Tool(name, description, model.model_json_schema(), run, validate, **options)


def json_result(data: Any) -> types.CallToolResult:
    """A successful call answering ``data`` (structured, and as JSON text)."""
    structured = data if isinstance(data, dict) else {"result": data}
    text = json.dumps(structured, default=str, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=structured
    )


def error_result(exc: BaseException) -> types.CallToolResult:
    """The error result for ``exc``: the API's body for the same error; an unexpected
    exception gets a generic message and an id logged with its traceback."""
    if isinstance(exc, AnsweredError):
        body: dict[str, Any] = {"detail": exc.message, **exc.body, "status": exc.status}
    elif isinstance(exc, RoleRefusedError):
        body = {"detail": exc.message, "status": 403}
    elif isinstance(exc, NotExposedError):
        body = {"detail": exc.message, "status": 404}
    elif isinstance(exc, HoistError):
        response = hoist_error_response(exc)
        body = {**json.loads(bytes(response.body)), "status": response.status_code}
    else:
        error_id = secrets.token_hex(6)
        _log.error("MCP tool failed (error id %s)", error_id, exc_info=exc)
        body = {"detail": f"internal error (error id {error_id})", "status": 500}
    lines = [str(body["detail"])]
    lines += [f"{k}: {'; '.join(v)}" for k, v in (body.get("errors") or {}).items()]
    return types.CallToolResult(
        content=[types.TextContent(type="text", text="\n".join(lines))],
        structured_content=body,
        is_error=True,
    )


NO_PROGRESS: Progress = _no_progress
"""A :data:`Progress` that sends nothing."""
