"""``BaseInferenceAction`` / ``InferenceContext``: a warm model, batched prediction, and a
Ray Serve deployment of the same model.

A plugin writes::

    class Predict(BaseInferenceAction[InferenceParams]):
        def load_model(self):                 # once per worker process (cached)
            return load(self.params.weights_path)

        def predict_batch(self, items):       # one batch -> one prediction per item
            return [self.model(x) for x in items]

    class Serve(BaseDeploymentAction[ServeParams]):
        entrypoint = Predict.serve_deployment()

The model cache is keyed by the action class and the params named in
:attr:`BaseInferenceAction.model_params` (default ``weights_path``): in task mode, where
a Ray worker process runs many tasks, the second call with the same weights is warm.
:meth:`BaseInferenceAction.serve_deployment` returns a plain class (Hoist's deployment
base wraps it with ``serve.deployment``), so this module never imports Ray.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from hoist.plugins.action import BaseAction, P
from hoist.plugins.actions.results import InferenceResult
from hoist.plugins.categories import PluginCategory
from hoist.plugins.context import RuntimeContext
from hoist.plugins.steps.base import BaseStep
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry
from hoist.plugins.types import ModelWeights
from hoist.runs.models import EventBase, Run
from hoist.runs.sinks.base import EventSink

__all__ = [
    "BaseInferenceAction",
    "InferenceContext",
    "InferenceParams",
    "clear_model_cache",
    "model_cache_keys",
]

_MODELS: dict[tuple[Any, ...], Any] = {}
_LOCKS: dict[tuple[Any, ...], threading.Lock] = {}
_GUARD = threading.Lock()


def model_cache_keys() -> list[tuple[Any, ...]]:
    """The keys of the models loaded in this process."""
    with _GUARD:
        return list(_MODELS)


def clear_model_cache() -> None:
    """Forget every loaded model of this process (they load again on next use)."""
    with _GUARD:
        _MODELS.clear()
        _LOCKS.clear()


class InferenceParams(BaseModel):
    """The standard params of an inference action; subclass to add your own."""

    inputs: list[Any] = Field(default_factory=list, description="Items to predict")
    batch_size: int = Field(32, ge=1, le=100_000, description="Items per predict_batch call")
    weights_path: str | None = Field(None, description="Weights to load (from a train run)")


@dataclass
class InferenceContext(BaseStepContext):
    """State the inference steps share (``self.context`` of a :class:`BaseInferenceAction`).

    Attributes:
        model: the loaded (possibly cached) model.
        model_loaded: True when this run loaded it, False when it was warm.
        predictions: predictions so far, in input order.
        batches: ``predict_batch`` calls made.
    """

    model: Any = None
    model_loaded: bool = False
    predictions: list[Any] = field(default_factory=list)
    batches: int = 0


class BaseInferenceAction(BaseAction[P]):
    """Base of inference actions: implement :meth:`load_model` and :meth:`predict_batch`.

    Class attributes:
        model_params: params fields whose values select the model (the cache key,
            with the class).
        progress_category: the progress bar prediction reports on.
    """

    category: ClassVar[PluginCategory | str] = PluginCategory.NEURAL_NET
    result_model: ClassVar[type[BaseModel] | None] = InferenceResult
    input_type = ModelWeights
    model_params: ClassVar[tuple[str, ...]] = ("weights_path",)
    progress_category: ClassVar[str] = "inference"

    _context: InferenceContext | None = None

    # ------------------------------------------------------------------ plugin hooks
    def load_model(self) -> Any:
        """Load and return the model (called once per process and cache key)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement load_model()")

    def predict_batch(self, items: list[Any]) -> Sequence[Any]:
        """Predict one batch; return one prediction per item, in order."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement predict_batch()")

    def inputs(self) -> Sequence[Any]:
        """The items to predict (default: the ``inputs`` param)."""
        return list(getattr(self.params, "inputs", []) or [])

    # ------------------------------------------------------------------ model
    def model_key(self) -> tuple[Any, ...]:
        """This action's model cache key: the class (module, file, name) and its
        :attr:`model_params` values."""
        cls = type(self)
        values = tuple(repr(getattr(self.params, name, None)) for name in cls.model_params)
        source = getattr(sys.modules.get(cls.__module__), "__file__", None)
        return (cls.__module__, source, cls.__qualname__, *values)

    def warm_model(self) -> tuple[Any, bool]:
        """The cached model, loading it first when needed; and whether it was loaded now."""
        key = self.model_key()
        with _GUARD:
            if key in _MODELS:
                return _MODELS[key], False
            lock = _LOCKS.setdefault(key, threading.Lock())
        with lock:  # one loader per key; others wait for it
            with _GUARD:
                if key in _MODELS:
                    return _MODELS[key], False
            model = self.load_model()
            with _GUARD:
                _MODELS[key] = model
            return model, True

    @property
    def model(self) -> Any:
        """The model (loaded on first use, then shared by every run of this process)."""
        if self._context is not None and self._context.model is not None:
            return self._context.model
        return self.warm_model()[0]

    @property
    def context(self) -> InferenceContext:
        """The typed step context of the running action."""
        if self._context is None:
            raise RuntimeError("the inference context exists only while the action runs")
        return self._context

    def predict(self, items: Sequence[Any], report: bool = True) -> list[Any]:
        """Predict ``items`` in batches of ``batch_size``, with progress when ``report``."""
        items = list(items)
        size = int(getattr(self.params, "batch_size", 32))
        out: list[Any] = []
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            preds = list(self.predict_batch(batch))
            if len(preds) != len(batch):
                raise ValueError(
                    f"predict_batch returned {len(preds)} predictions for {len(batch)} items"
                )
            out.extend(preds)
            if self._context is not None:
                self._context.batches += 1
            if report:
                self.set_progress(len(out), len(items), self.progress_category)
                if self._context is not None:
                    self._context.set_progress(len(out), len(items))
        return out

    # ------------------------------------------------------------------ steps
    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """Register ``load_model`` and ``predict`` (replace or extend them)."""
        registry.register(LoadModelStep(self))
        registry.register(PredictStep(self))

    def create_context(self) -> InferenceContext:
        """A fresh :class:`InferenceContext` (also ``self.context`` while running)."""
        self._context = InferenceContext(runtime_ctx=self.ctx, params=self.params)
        return self._context

    def step_result(self, context: BaseStepContext) -> InferenceResult:
        """The :class:`InferenceResult` of the finished steps."""
        assert isinstance(context, InferenceContext)
        return InferenceResult(
            predictions=context.predictions,
            count=len(context.predictions),
            batches=context.batches,
            model_loaded=context.model_loaded,
        )

    # ------------------------------------------------------------------ serving
    @classmethod
    def serve_deployment(cls, **defaults: Any) -> type:
        """A class serving this action's model, for ``BaseDeploymentAction.entrypoint``.

        Its constructor takes params (``defaults`` overridden by the deployment's bind
        keywords) and warms the model once per replica; ``await instance(request)``
        answers ``{"predictions": [...]}`` for a JSON body ``{"inputs": [...]}`` (or a
        bare list), and ``instance.predict(items)`` does the same for handle calls.
        """
        return _deployment_class(cls, defaults)


def _deployment_class(action_cls: type[BaseInferenceAction[Any]], defaults: dict[str, Any]) -> type:
    class ModelDeployment:
        action_class: ClassVar[type[BaseInferenceAction[Any]]] = action_cls

        def __init__(self, **params: Any) -> None:
            validated = action_cls.validate_params({**defaults, **params})
            ctx = RuntimeContext(f"serve-{uuid.uuid4().hex[:12]}", _DiscardSink(),
                                 action_name=action_cls.action_name)  # fmt: skip
            self.action = action_cls(validated, ctx)
            self.model, _ = self.action.warm_model()

        def predict(self, items: Sequence[Any]) -> list[Any]:
            return self.action.predict(items, report=False)

        async def __call__(self, request: Any) -> dict[str, Any]:
            body = await request.json()
            items = body.get("inputs", []) if isinstance(body, dict) else body
            if not isinstance(items, list):
                raise ValueError("the request body must be {'inputs': [...]} or a JSON list")
            return {"predictions": self.predict(items)}

    ModelDeployment.__name__ = f"{action_cls.__name__}Deployment"
    ModelDeployment.__qualname__ = ModelDeployment.__name__
    ModelDeployment.__module__ = action_cls.__module__
    return ModelDeployment


class _DiscardSink(EventSink):
    """Drops events: a served model has no run to report to."""

    def open_run(self, run: Run) -> None:
        """Nothing to open."""

    def emit(self, event: EventBase) -> None:
        """Drop ``event``."""


class _InferenceStep(BaseStep[InferenceContext]):
    def __init__(self, action: BaseInferenceAction[Any]) -> None:
        self.action = action


class LoadModelStep(_InferenceStep):
    """Load the model, or reuse this process's warm one."""

    name = "load_model"
    progress_weight = 1.0

    def execute(self, context: InferenceContext) -> None:
        context.model, context.model_loaded = self.action.warm_model()
        self.action.log("model", {"loaded": context.model_loaded})


class PredictStep(_InferenceStep):
    """Predict every input in batches, with progress."""

    name = "predict"
    progress_weight = 4.0

    def execute(self, context: InferenceContext) -> None:
        context.predictions = self.action.predict(self.action.inputs())
