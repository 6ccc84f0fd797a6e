"""Deployment strategies: the working ones (and the broken folders, each with its error),
and one explained (when to choose it, its defaults)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hoist.deployment.discovery import StrategyDefinition
from hoist.deployment.factory import DeploymentFactory
from hoist.server.api import API_PREFIX
from hoist.server.deployment_schemas import (
    BrokenStrategy,
    StrategyDetail,
    StrategyInfo,
    StrategyList,
)
from hoist.server.deps import State, Viewer, responses
from hoist.server.schemas import NAME_PATTERN

__all__ = ["router"]

router = APIRouter(prefix=f"{API_PREFIX}/strategies", tags=["strategies"])

Name = Annotated[str, Path(pattern=NAME_PATTERN, description="A strategy's name.")]


def _info(definition: StrategyDefinition) -> StrategyInfo:
    config = definition.config
    assert config is not None  # a working strategy has its config
    return StrategyInfo(
        name=definition.name,
        description=" ".join(config.description.split()),
        provider=config.provider,
        interface=config.interface,
        source=definition.source,
    )


@router.get("", response_model=StrategyList, responses=responses(401))
def list_strategies(state: State, principal: Viewer) -> StrategyList:
    """The working strategies by name, and the strategy folders that are broken."""
    registry = state.deployments.registry
    working = [_info(registry.definition(n)) for n in registry.list_strategies()]
    broken = [
        BrokenStrategy(name=d.name, source=d.source,
                       error=d.error.problem if d.error else "unreadable")
        for d in registry.broken()
    ]  # fmt: skip
    return StrategyList(strategies=working, broken=broken)


@router.get("/{name}", response_model=StrategyDetail, responses=responses(401, 404, 409, 422))
def explain_strategy(name: Name, state: State, principal: Viewer) -> StrategyDetail:
    """A strategy explained: its description, when to choose it (its selector
    instruction) and its defaults (404 listing the strategies for an unknown name)."""
    registry = state.deployments.registry
    definition = registry.definition(name)  # unknown: 404; broken: 409 naming the key
    config = registry.get_strategy(name)
    return StrategyDetail(
        **_info(definition).model_dump(),
        explanation=DeploymentFactory.explain_strategy(name, registry=registry),
        selector_instruction=definition.selector_instruction.strip(),
        run_interface=config.run_interface.model_dump(),
        resources=config.resources,
        settings=config.settings,
    )
