"""Plugins and their actions, with the JSON schemas of params and results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hoist.server.api import API_PREFIX
from hoist.server.catalog import describe_action, describe_plugin
from hoist.server.deps import State, Viewer, responses
from hoist.server.schemas import NAME_PATTERN, ActionInfo, PluginInfo

__all__ = ["router"]

router = APIRouter(prefix=f"{API_PREFIX}/plugins", tags=["plugins"])

Name = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.get("", response_model=list[PluginInfo], responses=responses(401))
def list_plugins(state: State, principal: Viewer) -> list[PluginInfo]:
    """The plugins this server can launch (actions named, not described)."""
    return [PluginInfo.model_validate(describe_plugin(p)) for p in state.catalog.plugins()]


@router.get("/{code}", response_model=PluginInfo, responses=responses(401, 404, 422))
def get_plugin(code: Name, state: State, principal: Viewer) -> PluginInfo:
    """A plugin with every action described (params and result schemas)."""
    return PluginInfo.model_validate(describe_plugin(state.catalog.get(code), actions=True))


@router.get(
    "/{code}/actions/{action}", response_model=ActionInfo, responses=responses(400, 401, 404, 422)
)
def get_action(code: Name, action: Name, state: State, principal: Viewer) -> ActionInfo:
    """One action: its params and result JSON schemas."""
    return ActionInfo.model_validate(describe_action(state.catalog.get(code), action))
