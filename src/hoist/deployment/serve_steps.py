"""The steps of a step-based `BaseDeploymentAction`: ``InitializeRayStep``, ``DeployStep``
and ``RegisterStep`` over a `DeploymentContext`, with the progress categories the seed
names (`DeploymentProgressCategories`).

Each step does its phase through the action's own methods (``ray_init``, ``deploy``,
``register_serve_application``), so overriding one of those changes the step too, and
reports its category's progress when it is done::

    def setup_steps(self, registry: StepRegistry[DeploymentContext]) -> None:
        registry.register(InitializeRayStep())
        registry.register(DeployStep())
        registry.register(RegisterStep())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hoist.plugins.steps.base import BaseStep, StepResult
from hoist.plugins.steps.context import BaseStepContext

if TYPE_CHECKING:
    from hoist.deployment.serve_action import BaseDeploymentAction

__all__ = [
    "DeployStep",
    "DeploymentContext",
    "DeploymentProgressCategories",
    "InitializeRayStep",
    "RegisterStep",
]


class DeploymentProgressCategories:
    """Standard progress category names of a deployment workflow.

    Use them with ``set_progress()`` to report its phases::

        self.set_progress(1, 3, self.progress.INITIALIZE)
        self.set_progress(2, 3, self.progress.DEPLOY)

    Attributes:
        INITIALIZE: connecting to (or starting) the Ray cluster.
        DEPLOY: deploying the application to Ray Serve.
        REGISTER: recording the deployment in Hoist's store.
    """

    INITIALIZE: ClassVar[str] = "initialize"
    DEPLOY: ClassVar[str] = "deploy"
    REGISTER: ClassVar[str] = "register"


@dataclass
class DeploymentContext(BaseStepContext):
    """What the steps of one deployment action share.

    Attributes:
        action: the running `BaseDeploymentAction` (its methods do each step's work).
        ray_address: the Ray cluster's address once connected.
        serve_app_name: the Serve application's name once deployed.
        route_prefix: its route prefix once deployed.
        endpoint: its URL (the Serve proxy's base URL plus the route prefix).
        serve_application: the id `RegisterStep` recorded (the record's version).
    """

    action: BaseDeploymentAction[Any] | None = None
    ray_address: str | None = None
    serve_app_name: str | None = None
    route_prefix: str | None = None
    endpoint: str | None = None
    serve_application: int | None = None

    def require_action(self) -> BaseDeploymentAction[Any]:
        """The action; a clear error for a context built without one.

        Raises:
            RuntimeError: ``action`` is not set (build the context with
                `BaseDeploymentAction.create_context`).
        """
        if self.action is None:
            raise RuntimeError(
                "this DeploymentContext has no action: build it with "
                "BaseDeploymentAction.create_context()"
            )
        return self.action


class _DeploymentStep(BaseStep[DeploymentContext]):
    """A deployment phase: reports its progress category as done when it succeeds."""

    category: ClassVar[str] = ""

    def done(self, context: DeploymentContext) -> None:
        context.runtime_ctx.set_progress(1, 1, self.category)


class InitializeRayStep(_DeploymentStep):
    """Connect to the Ray cluster (`BaseDeploymentAction.ray_init`)."""

    name = "initialize_ray"
    category = DeploymentProgressCategories.INITIALIZE
    progress_weight = 1.0

    def execute(self, context: DeploymentContext) -> StepResult:
        action = context.require_action()
        action.ray_init()
        context.ray_address = action.ray_address
        self.done(context)
        return StepResult(data={"ray_address": context.ray_address})


class DeployStep(_DeploymentStep):
    """Deploy the action's ``entrypoint`` to Ray Serve (`BaseDeploymentAction.deploy`);
    rolled back when a later step fails (`BaseDeploymentAction.undo_deploy`)."""

    name = "deploy"
    category = DeploymentProgressCategories.DEPLOY
    progress_weight = 3.0

    def execute(self, context: DeploymentContext) -> StepResult:
        action = context.require_action()
        action.deploy()
        context.serve_app_name = action.get_serve_app_name()
        context.route_prefix = action.get_route_prefix()
        context.endpoint = action.endpoint
        self.done(context)
        data = {
            "serve_app_name": context.serve_app_name,
            "route_prefix": context.route_prefix,
            "endpoint": context.endpoint,
        }
        return StepResult(data=data, rollback_data={"app_name": context.serve_app_name})

    def rollback(self, context: DeploymentContext, result: StepResult) -> None:
        context.require_action().undo_deploy()


class RegisterStep(_DeploymentStep):
    """Record the deployment in Hoist's store
    (`BaseDeploymentAction.register_serve_application`)."""

    name = "register"
    category = DeploymentProgressCategories.REGISTER
    progress_weight = 1.0

    def execute(self, context: DeploymentContext) -> StepResult:
        action = context.require_action()
        context.serve_application = action.register_serve_application()
        self.done(context)
        return StepResult(data={"serve_application": context.serve_application})
