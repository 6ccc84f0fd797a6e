"""Deployment: strategy folders, runners, the factory and the deployed software."""

from __future__ import annotations

from hoist.deployment.base import Runner
from hoist.deployment.models import (
    AdaptationResult,
    DeployConfig,
    DeploymentInfo,
    DeploymentSetting,
    RunInterface,
    StrategyConfig,
)

__all__ = [
    "AdaptationResult",
    "DeployConfig",
    "DeploymentInfo",
    "DeploymentSetting",
    "RunInterface",
    "Runner",
    "StrategyConfig",
]
