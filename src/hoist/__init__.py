"""Hoist: typed plugin actions you can run anywhere, chain, watch and deploy.

The public names are imported lazily so that ``import hoist`` stays fast::

    from hoist import BaseAction, RuntimeContext, run_plugin
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoist._lazy import lazy_getattr
from hoist._version import __version__

if TYPE_CHECKING:
    from hoist.errors import (
        ActionFailedError,
        ActionNotFoundError,
        ConfigError,
        HoistError,
        ParamsValidationError,
        PluginNotFoundError,
        RunCancelledError,
        UserInputError,
    )
    from hoist.executors.base import Executor
    from hoist.executors.handle import RunHandle
    from hoist.executors.job_status import JobStatus
    from hoist.executors.local import LocalExecutor
    from hoist.executors.plugin_runner import run_plugin
    from hoist.executors.ray import RayActorExecutor, RayJobExecutor
    from hoist.pipelines import ActionPipeline, RayPipelineExecutor
    from hoist.plugins.action import BaseAction
    from hoist.plugins.categories import PluginCategory
    from hoist.plugins.context import RuntimeContext
    from hoist.plugins.decorators import action
    from hoist.plugins.env import PluginEnvironment
    from hoist.plugins.steps import (
        BaseStep,
        BaseStepContext,
        Orchestrator,
        StepRegistry,
        StepResult,
    )
    from hoist.runs.models import Run, RunStatus
    from hoist.runs.sinks.memory import MemorySink
    from hoist.runs.store import RunStore
    from hoist.settings import Settings

_EXPORTS = {
    "ActionFailedError": "hoist.errors",
    "ActionPipeline": "hoist.pipelines",
    "ActionNotFoundError": "hoist.errors",
    "BaseAction": "hoist.plugins.action",
    "BaseStep": "hoist.plugins.steps",
    "BaseStepContext": "hoist.plugins.steps",
    "ConfigError": "hoist.errors",
    "Executor": "hoist.executors.base",
    "HoistError": "hoist.errors",
    "LocalExecutor": "hoist.executors.local",
    "MemorySink": "hoist.runs.sinks.memory",
    "Orchestrator": "hoist.plugins.steps",
    "ParamsValidationError": "hoist.errors",
    "PluginCategory": "hoist.plugins.categories",
    "PluginEnvironment": "hoist.plugins.env",
    "PluginNotFoundError": "hoist.errors",
    "RayActorExecutor": "hoist.executors.ray",
    "RayJobExecutor": "hoist.executors.ray",
    "RayPipelineExecutor": "hoist.pipelines",
    "Run": "hoist.runs.models",
    "RunCancelledError": "hoist.errors",
    "RunHandle": "hoist.executors.handle",
    "JobStatus": "hoist.executors.job_status",
    "RunStatus": "hoist.runs.models",
    "RunStore": "hoist.runs.store",
    "RuntimeContext": "hoist.plugins.context",
    "Settings": "hoist.settings",
    "StepRegistry": "hoist.plugins.steps",
    "StepResult": "hoist.plugins.steps",
    "UserInputError": "hoist.errors",
    "action": "hoist.plugins.decorators",
    "run_plugin": "hoist.executors.plugin_runner",
}

__all__ = [
    "ActionFailedError",
    "ActionNotFoundError",
    "ActionPipeline",
    "BaseAction",
    "BaseStep",
    "BaseStepContext",
    "ConfigError",
    "Executor",
    "HoistError",
    "JobStatus",
    "LocalExecutor",
    "MemorySink",
    "Orchestrator",
    "ParamsValidationError",
    "PluginCategory",
    "PluginEnvironment",
    "PluginNotFoundError",
    "RayActorExecutor",
    "RayJobExecutor",
    "RayPipelineExecutor",
    "Run",
    "RunCancelledError",
    "RunHandle",
    "RunStatus",
    "RunStore",
    "RuntimeContext",
    "Settings",
    "StepRegistry",
    "StepResult",
    "UserInputError",
    "__version__",
    "action",
    "run_plugin",
]


__getattr__ = lazy_getattr("hoist", _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
