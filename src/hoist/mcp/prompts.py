"""MCP prompts that help an agent pick actions, chain them, and look into a run.

Each prompt is built from what the catalog and the store hold now (the exposed actions
with their descriptions and input/output types; a run's status, error and last logs),
so the agent starts from facts rather than guesses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from hoist.errors import HoistError, UserInputError
from hoist.mcp.access import Exposure
from hoist.mcp.tools.catalog import tool_name
from hoist.mcp.tools.runs import run_view
from hoist.server.state import ServerState

__all__ = ["PROMPTS", "get_prompt"]

_LOG_LINES = 30


@dataclass(frozen=True, slots=True)
class _Prompt:
    spec: types.Prompt
    build: Callable[[ServerState, Exposure, dict[str, str]], str]


def _actions(state: ServerState, exposure: Exposure) -> list[dict[str, Any]]:
    found = []
    for plugin in state.catalog.plugins():
        if not exposure.plugin(plugin.code):
            continue
        for name in plugin.action_names():
            if not exposure.action(plugin.code, name):
                continue
            cfg = plugin.action_config(name)
            found.append({
                "tool": tool_name(plugin.code, name), "plugin": plugin.code, "action": name,
                "description": cfg.description or "", "input_type": cfg.input_type,
                "output_type": cfg.output_type,
            })  # fmt: skip
        for pipeline in plugin.config.pipelines or {}:
            if exposure.action(plugin.code, pipeline):
                found.append({"plugin": plugin.code, "pipeline": pipeline, "tool": "run_pipeline"})
    return found


def _pick(state: ServerState, exposure: Exposure, args: dict[str, str]) -> str:
    listed = json.dumps(_actions(state, exposure), indent=1)
    return (
        f"Goal: {args['goal']}\n\nThese Hoist actions are available (each runs through the "
        f"tool named in `tool`; call describe_action for its params first):\n{listed}\n\n"
        "Pick the one action that best serves the goal, say why in one sentence, then "
        "call its tool with params that satisfy its schema. If none fits, say so instead "
        "of forcing one."
    )


def _chain(state: ServerState, exposure: Exposure, args: dict[str, str]) -> str:
    listed = json.dumps(_actions(state, exposure), indent=1)
    return (
        f"Goal: {args['goal']}\n\nAvailable Hoist actions and pipelines, with the type each "
        f"takes and makes (`input_type`, `output_type`):\n{listed}\n\n"
        "Plan a chain where each step's output type matches the next step's input type. "
        "Prefer a pipeline that already does the chain (run_pipeline). Otherwise run the "
        "steps one at a time: pass each result on, check every run's status with "
        "get_run, and stop at the first failure, reading its logs with run_events."
    )


def _investigate(state: ServerState, exposure: Exposure, args: dict[str, str]) -> str:
    run = state.store.get_run(args["run_id"])
    exposure.check(run.plugin, run.action)
    logs = state.store.events_of_type(run.id, ("log", "message", "status", "error"), _LOG_LINES,
                                      newest_first=True)  # fmt: skip
    lines = "\n".join(f"[{e.type}] {e.summary()}" for e in sorted(logs, key=lambda e: e.seq))
    view = json.dumps(run_view(run), indent=1, default=str)
    return (
        f"Look into Hoist run {run.id}.\n\nThe run:\n{view}\n\nIts last events:\n{lines}\n\n"
        "Explain what happened in plain words. If it failed, name the most likely cause "
        "and the smallest change of params (or of the input) that would fix it; if it is "
        "a pipeline, say whether resume_run would skip the finished steps."
    )


def _argument(name: str, description: str) -> types.PromptArgument:
    return types.PromptArgument(name=name, description=description, required=True)


PROMPTS: dict[str, _Prompt] = {
    "pick_action": _Prompt(
        types.Prompt(name="pick_action", title="Pick an action for a goal",
                     description="Choose the Hoist action that serves a goal, and run it.",
                     arguments=[_argument("goal", "What you want done.")]),
        _pick,
    ),
    "chain_actions": _Prompt(
        types.Prompt(name="chain_actions", title="Chain actions for a goal",
                     description="Plan and run a chain of actions (or a pipeline) whose "
                     "outputs feed the next inputs.",
                     arguments=[_argument("goal", "What the chain should produce.")]),
        _chain,
    ),
    "investigate_run": _Prompt(
        types.Prompt(name="investigate_run", title="Look into a run",
                     description="Explain a run's outcome from its record and its last logs.",
                     arguments=[_argument("run_id", "The run's id.")]),
        _investigate,
    ),
}  # fmt: skip


def get_prompt(
    state: ServerState, exposure: Exposure, name: str, arguments: dict[str, str] | None
) -> types.GetPromptResult:
    """The prompt ``name`` filled with ``arguments``.

    Raises:
        UserInputError: no such prompt, or a required argument is missing.
        HoistError: the run it names does not exist or is not exposed.
    """
    prompt = PROMPTS.get(name)
    if prompt is None:
        raise UserInputError(f"no prompt named {name!r}; there are {', '.join(PROMPTS)}")
    args = dict(arguments or {})
    missing = [a.name for a in prompt.spec.arguments or [] if a.required and not args.get(a.name)]
    if missing:
        raise UserInputError(f"prompt {name!r} needs {', '.join(missing)}")
    try:
        text = prompt.build(state, exposure, args)
    except HoistError:
        raise
    message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
    return types.GetPromptResult(description=prompt.spec.description, messages=[message])
