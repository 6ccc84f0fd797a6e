"""Deployment: strategy folders, runners, the factory and the deployed software.

``DeployStrategy`` is a ``str`` Enum of the process registry's strategies, built on
first access (discovery reads ``HOIST_STRATEGY_PATHS`` then, not at import).
"""

from __future__ import annotations

from typing import Any

from hoist.deployment.adapter import adapt
from hoist.deployment.base import Runner
from hoist.deployment.discovery import StrategyDefinition
from hoist.deployment.factory import DeploymentFactory
from hoist.deployment.models import (
    AdaptationResult,
    DeployConfig,
    DeploymentInfo,
    DeploymentSetting,
    RunInterface,
    StrategyConfig,
)
from hoist.deployment.registry import StrategyRegistry
from hoist.deployment.remote import EndpointRunner
from hoist.deployment.selector import select
from hoist.deployment.serve_action import BaseDeploymentAction
from hoist.deployment.serve_steps import (
    DeploymentContext,
    DeploymentProgressCategories,
    DeployStep,
    InitializeRayStep,
    RegisterStep,
)
from hoist.deployment.software import DeployedSoftware

__all__ = [
    "AdaptationResult",
    "BaseDeploymentAction",
    "DeployConfig",
    "DeployStep",
    "DeployStrategy",
    "DeployedSoftware",
    "DeploymentContext",
    "DeploymentFactory",
    "DeploymentInfo",
    "DeploymentProgressCategories",
    "DeploymentSetting",
    "EndpointRunner",
    "InitializeRayStep",
    "RegisterStep",
    "RunInterface",
    "Runner",
    "StrategyConfig",
    "StrategyDefinition",
    "StrategyRegistry",
    "adapt",
    "select",
]


def __getattr__(name: str) -> Any:
    if name == "DeployStrategy":
        return StrategyRegistry.get().strategy_enum()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
