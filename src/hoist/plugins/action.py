"""``BaseAction[P]``: a typed unit of work with a params model, a context and a result."""

from __future__ import annotations

import re
import sys
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hoist.errors import ParamsValidationError, field_errors_from_pydantic
from hoist.plugins.categories import PluginCategory
from hoist.plugins.types import DataType

if TYPE_CHECKING:
    import logging

    from hoist.plugins.context import RuntimeContext
    from hoist.plugins.integrations import AutologHandle
    from hoist.plugins.steps.context import BaseStepContext
    from hoist.plugins.steps.registry import StepRegistry

__all__ = ["AnyParams", "BaseAction", "P"]


class AnyParams(BaseModel):
    """Params of an action that declares no model: any keys are accepted."""

    model_config = ConfigDict(extra="allow")


P = TypeVar("P", bound=BaseModel)


def _snake(name: str) -> str:
    name = re.sub(r"Action$", "", name) or name
    # "TrainOnYOLO" -> train_on_yolo, "HTTPFetch" -> http_fetch, "Train2D" -> train2_d
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class BaseAction(Generic[P]):
    """Subclass with your params model as the type argument and implement :meth:`execute`.

    Example::

        class TrainAction(BaseAction[TrainParams]):
            action_name = "train"
            result_model = TrainResult

            def execute(self) -> TrainResult:
                for epoch in range(self.params.epochs):
                    self.set_progress(epoch + 1, self.params.epochs)
                return TrainResult(...)

    A step-based action implements :meth:`setup_steps` instead of :meth:`execute`.

    Class attributes:
        action_name: the name used in ``config.yaml`` and on the command line
            (default: the class name in snake case without ``Action``).
        description: one line (default: the docstring's first line).
        category: a :class:`PluginCategory`.
        params_model: the params model (default: the generic argument).
        result_model: when set, the returned value must validate against it.
        input_type, output_type: semantic :class:`~hoist.plugins.types.DataType` s.
    """

    action_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    category: ClassVar[PluginCategory | str] = PluginCategory.CUSTOM
    params_model: ClassVar[type[BaseModel]] = AnyParams
    result_model: ClassVar[type[BaseModel] | None] = None
    input_type: ClassVar[type[DataType] | None] = None
    output_type: ClassVar[type[DataType] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "params_model" not in cls.__dict__:
            found = _generic_params_model(cls)
            if found is not None:
                cls.params_model = found
        if "action_name" not in cls.__dict__ or not cls.__dict__["action_name"]:
            cls.action_name = _snake(cls.__name__)
        if "description" not in cls.__dict__:
            doc = (cls.__doc__ or "").strip()
            cls.description = doc.splitlines()[0] if doc else ""

    def __init__(self, params: P, ctx: RuntimeContext) -> None:
        cls = type(self)
        if cls.execute is BaseAction.execute and cls.setup_steps is BaseAction.setup_steps:
            raise TypeError(f"{cls.__qualname__} must implement execute() or setup_steps()")
        self.params = params
        self.ctx = ctx

    # ------------------------------------------------------------------ params
    @classmethod
    def validate_params(cls, params: BaseModel | dict[str, Any] | None) -> P:
        """Validate raw params against :attr:`params_model`.

        Raises:
            ParamsValidationError: naming every failing field and its rule.
        """
        model = cls.params_model
        if isinstance(params, model):
            return params  # type: ignore[return-value]
        if isinstance(params, BaseModel):
            params = params.model_dump()
        try:
            valid = model.model_validate(params or {})
        except ValidationError as exc:
            raise ParamsValidationError(field_errors_from_pydantic(exc.errors())) from None
        wrong = _datasets_off_format(valid, cls.input_type)
        if wrong:
            raise ParamsValidationError(wrong)
        return valid  # type: ignore[return-value]

    # ------------------------------------------------------------------ work
    def run(self) -> Any:
        """Run the action, using steps if registered: what executors call.

        When :meth:`setup_steps` registers steps, step-based execution takes precedence
        over :meth:`execute` (as the seed specifies); otherwise :meth:`execute` runs.
        The value may be awaitable (``async def execute``); executors await it.
        """
        if type(self).setup_steps is not BaseAction.setup_steps:
            registry: StepRegistry[Any] = _new_registry()
            self.setup_steps(registry)
            if len(registry):
                return self._run_steps(registry)
        return self.execute()

    def execute(self) -> Any:
        """Do the work and return the result (``async def`` is fine too).

        The default runs the registered steps; a step-based action implements
        :meth:`setup_steps` instead.
        """
        registry: StepRegistry[Any] = _new_registry()
        self.setup_steps(registry)
        return self._run_steps(registry)

    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """Register this action's steps (step-based actions implement this)."""

    def create_context(self) -> BaseStepContext:
        """The context shared by this action's steps; override to return a subclass
        with more state (a ``DeploymentContext``, a ``TrainContext``)."""
        from hoist.plugins.steps.context import BaseStepContext

        return BaseStepContext(runtime_ctx=self.ctx, params=self.params)

    def step_result(self, context: BaseStepContext) -> Any:
        """The action's result after all steps ran (default: the steps' merged data)."""
        return context.result()

    def _run_steps(self, registry: StepRegistry[Any]) -> Any:
        from hoist.plugins.steps.orchestrator import Orchestrator

        context = self.create_context()
        Orchestrator(registry, context).execute()
        return self.step_result(context)

    # ------------------------------------------------------------------ helpers
    @property
    def logger(self) -> logging.LoggerAdapter:  # type: ignore[type-arg]
        """The context's logger."""
        return self.ctx.logger

    def set_progress(self, current: float, total: float, category: str | None = None) -> None:
        """See :meth:`RuntimeContext.set_progress`."""
        self.ctx.set_progress(current, total, category)

    def set_metrics(self, values: dict[str, Any], category: str | None = None) -> None:
        """See :meth:`RuntimeContext.set_metrics`."""
        self.ctx.set_metrics(values, category)

    def log(self, event: str, data: dict[str, Any] | None = None) -> None:
        """See :meth:`RuntimeContext.log`."""
        self.ctx.log(event, data)

    def log_message(self, text: str, level: str = "info") -> None:
        """See :meth:`RuntimeContext.log_message`."""
        self.ctx.log_message(text, level)

    def log_dev_event(self, name: str, data: dict[str, Any] | None = None) -> None:
        """See :meth:`RuntimeContext.log_dev_event`."""
        self.ctx.log_dev_event(name, data)

    def autolog(self, framework: str, **options: Any) -> AutologHandle:
        """Report a training library's epochs, losses and metrics as this run's progress
        and metrics events, with no manual calls: ``self.autolog("lightning")`` before
        building the ``Trainer``.

        Frameworks: see :mod:`hoist.plugins.integrations` (``lightning``, ``transformers``,
        ``ultralytics``, and any a package declares under the ``hoist.integrations`` entry
        point group).
        The hook lasts until ``handle.detach()`` (or leaving ``with self.autolog(...)``),
        and at the latest until this action object is released after its run.

        Raises:
            UnknownIntegrationError: no such framework; the message lists the known ones.
            FrameworkNotInstalledError: the framework is not installed; the message says
                what to ``pip install``.
        """
        from hoist.plugins.integrations import get_integration
        from hoist.plugins.integrations.base import own

        return own(self, get_integration(framework).attach(self, **options))


def _datasets_off_format(
    params: BaseModel, input_type: type[DataType] | None
) -> dict[str, list[str]]:
    """Params holding a :class:`~hoist.datasets.DatasetRef` in another format than
    ``input_type`` names (``YOLODataset`` needs ``yolo``): field -> why."""
    wanted = getattr(input_type, "format", None)
    ref_module = sys.modules.get("hoist.datasets.ref")  # no DatasetRef exists before it loads
    if wanted is None or ref_module is None or input_type is None:
        return {}
    problems: dict[str, list[str]] = {}
    for name in type(params).model_fields:
        value = getattr(params, name)
        if isinstance(value, ref_module.DatasetRef) and value.format != wanted:
            problems[name] = [
                f"the dataset at {value.path} is {value.format}, but this action takes "
                f"{input_type.name} ({wanted}): convert it first (`hoist datasets convert "
                f"--to {wanted}`, or a dataset action with convert_to: {wanted})"
            ]
    return problems


def _new_registry() -> StepRegistry[Any]:
    from hoist.plugins.steps.registry import StepRegistry

    return StepRegistry()


def _generic_params_model(cls: type) -> type[BaseModel] | None:
    for base in getattr(cls, "__orig_bases__", ()):
        origin = typing.get_origin(base)
        if isinstance(origin, type) and issubclass(origin, BaseAction):
            for arg in typing.get_args(base):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    return arg
    return None
