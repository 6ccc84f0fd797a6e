"""Steps: composable phases of an action with weighted progress and rollback."""

from hoist.plugins.steps.base import BaseStep, StepFailedError, StepResult
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.orchestrator import Orchestrator
from hoist.plugins.steps.registry import StepRegistry

__all__ = [
    "BaseStep",
    "BaseStepContext",
    "Orchestrator",
    "StepFailedError",
    "StepRegistry",
    "StepResult",
]
