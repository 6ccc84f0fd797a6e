"""``BaseTrainAction`` / ``TrainContext``: epochs, checkpoints, resume, best model, weights.

A plugin writes only what is specific to its model::

    class Train(BaseTrainAction[TrainParams]):
        best_metric, best_mode = "val_loss", "min"

        def setup_model(self, state):        # state: the checkpoint resumed from, or None
            self.model = build(state)

        def train_epoch(self, epoch):        # one pass; returns that epoch's metrics
            return {"loss": ..., "val_loss": ...}

        def checkpoint_state(self):          # saved after each epoch (JSON or bytes)
            return self.model.to_dict()

The base's steps (``prepare``, ``train``, ``save_weights``) resolve the folders, resume
from the last checkpoint, run the epoch loop with progress (category ``train``) and
metrics, save checkpoints as run artifacts and record the final weights with their
SHA-256 in a :class:`~hoist.plugins.actions.results.TrainResult`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from hoist.datasets.ref import DatasetRef
from hoist.plugins.action import BaseAction, P
from hoist.plugins.actions.files import sha256_file, write_atomic
from hoist.plugins.actions.results import CheckpointInfo, TrainResult
from hoist.plugins.categories import PluginCategory
from hoist.plugins.steps.base import BaseStep
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry
from hoist.plugins.types import Dataset, ModelWeights

__all__ = ["BaseTrainAction", "TrainContext", "TrainParams"]

MANIFEST = "manifest.json"
_EPOCH_FILE = re.compile(r"^epoch_(\d+)\.(json|bin)$")


class TrainParams(BaseModel):
    """The standard params of a training action; subclass to add your own."""

    dataset: DatasetRef | str | None = Field(
        None, description="Dataset folder or file, or a dataset (path and format) from a pipeline"
    )
    output_dir: str | None = Field(
        None, description="Where checkpoints and weights go (default: the run's artifacts)"
    )
    epochs: int = Field(10, ge=1, le=1_000_000, description="Total epochs to train")
    resume: bool = Field(True, description="Continue from the last checkpoint in output_dir")
    resume_from: str | None = Field(
        None, description="A checkpoint file, or a folder holding checkpoints, to continue from"
    )
    checkpoint_every: int = Field(1, ge=1, description="Save a checkpoint every N epochs")
    best_metric: str | None = Field(None, description="Metric that picks the best checkpoint")
    best_mode: Literal["min", "max"] | None = Field(None, description="Lower or higher is better")


@dataclass
class TrainContext(BaseStepContext):
    """State the training steps share (``self.context`` of a :class:`BaseTrainAction`).

    Attributes:
        dataset_path: the ``dataset`` param as a path.
        dataset: the ``dataset`` param when it is a :class:`~hoist.datasets.DatasetRef`
            (a pipeline's dataset action gives one), else None.
        output_dir: where checkpoints (``checkpoints/``) and weights are written.
        start_epoch: the first epoch this run trains (1, or after the resumed one).
        resumed_from: the checkpoint file resumed from.
        resume_state: that checkpoint's state (a dict, or bytes for binary state).
        history: each trained epoch's metrics (with ``epoch``).
        checkpoints: checkpoints saved by this run.
        best: the best checkpoint so far (including resumed ones).
        weights_path, weights_sha256: the final weights.
    """

    dataset_path: Path | None = None
    dataset: DatasetRef | None = None
    output_dir: Path = field(default_factory=Path.cwd)
    start_epoch: int = 1
    resumed_from: str | None = None
    resume_state: Any = None
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoints: list[CheckpointInfo] = field(default_factory=list)
    best: CheckpointInfo | None = None
    weights_path: Path | None = None
    weights_sha256: str | None = None

    @property
    def checkpoint_dir(self) -> Path:
        """``output_dir/checkpoints``."""
        return self.output_dir / "checkpoints"


class BaseTrainAction(BaseAction[P]):
    """Base of training actions: implement :meth:`train_epoch` (and usually
    :meth:`setup_model`, :meth:`checkpoint_state`, :meth:`save_weights`).

    Class attributes:
        best_metric: the metric that selects the best checkpoint (``None``: none);
            a ``best_metric`` param wins.
        best_mode: ``"min"`` or ``"max"``.
        progress_category: the progress bar the epoch loop reports on.
        weights_filename: the final weights' file name in ``output_dir``.
    """

    category: ClassVar[PluginCategory | str] = PluginCategory.NEURAL_NET
    result_model: ClassVar[type[BaseModel] | None] = TrainResult
    input_type = Dataset
    output_type = ModelWeights
    best_metric: ClassVar[str | None] = "loss"
    best_mode: ClassVar[Literal["min", "max"]] = "min"
    progress_category: ClassVar[str] = "train"
    weights_filename: ClassVar[str] = "weights.json"

    _context: TrainContext | None = None

    # ------------------------------------------------------------------ plugin hooks
    def setup_model(self, state: Any) -> None:
        """Build the model; ``state`` is the resumed checkpoint's state, or ``None``."""

    def train_epoch(self, epoch: int) -> Mapping[str, float]:
        """Train one epoch (1-based) and return its metrics."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must implement train_epoch(epoch) (or override train())"
        )

    def checkpoint_state(self) -> Mapping[str, Any] | bytes:
        """The state saved in each checkpoint (a JSON-able mapping, or bytes)."""
        return {}

    def save_weights(self, path: Path) -> Path:
        """Write the final weights to ``path`` (default: :meth:`checkpoint_state`) and
        return the file written (it may differ, e.g. another suffix)."""
        state = self.checkpoint_state()
        return write_atomic(path, state)

    def train(self) -> None:
        """The ``train`` step's work: by default ``self.train_epochs(self.train_epoch)``."""
        self.train_epochs(self.train_epoch)

    # ------------------------------------------------------------------ epoch loop
    @property
    def context(self) -> TrainContext:
        """The typed step context of the running action."""
        if self._context is None:
            raise RuntimeError("the training context exists only while the action runs")
        return self._context

    def epochs(self, total: int | None = None) -> Iterator[int]:
        """Epoch numbers still to train (1-based, after a resumed checkpoint); call
        :meth:`end_epoch` with each epoch's metrics."""
        last = total if total is not None else int(getattr(self.params, "epochs", 1))
        for epoch in range(self.context.start_epoch, last + 1):
            self.ctx.check_cancelled()
            yield epoch

    def train_epochs(self, fn: Callable[[int], Mapping[str, float]]) -> list[dict[str, float]]:
        """Run ``fn(epoch)`` for each remaining epoch, recording each one's metrics."""
        for epoch in self.epochs():
            self.end_epoch(epoch, fn(epoch))
        return self.context.history

    def end_epoch(
        self, epoch: int, metrics: Mapping[str, float], state: Any = None
    ) -> CheckpointInfo | None:
        """Record an epoch: metrics event and progress (category ``train``), and a
        checkpoint every ``checkpoint_every`` epochs and at the last one."""
        context = self.context
        values = _floats(metrics)
        context.history.append({"epoch": float(epoch), **values})
        self.set_metrics({"epoch": epoch, **values}, category=self.progress_category)
        total = int(getattr(self.params, "epochs", epoch))
        every = int(getattr(self.params, "checkpoint_every", 1))
        saved = None
        if epoch % every == 0 or epoch >= total:
            state = self.checkpoint_state() if state is None else state
            saved = self.save_checkpoint(state, epoch, values)
        self.set_progress(epoch, total, self.progress_category)
        first = context.start_epoch
        context.set_progress(epoch - first + 1, max(total - first + 1, 1))
        return saved

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(
        self, state: Mapping[str, Any] | bytes, epoch: int, metrics: Mapping[str, float]
    ) -> CheckpointInfo:
        """Save ``state`` as ``checkpoints/epoch_NNNN.json`` (``.bin`` for bytes) in
        ``output_dir``, record it as an artifact and a checkpoint event, and keep the
        best one by the named metric."""
        context = self.context
        suffix = "bin" if isinstance(state, bytes | bytearray) else "json"
        path = context.checkpoint_dir / f"epoch_{epoch:04d}.{suffix}"
        write_atomic(path, bytes(state) if isinstance(state, bytearray) else state)
        values = _floats(metrics)
        info = CheckpointInfo(epoch=epoch, path=str(path), sha256=sha256_file(path), metrics=values)
        context.checkpoints.append(info)
        metric, mode = self.selection()
        if metric is not None:
            if metric not in values:
                raise ValueError(
                    f"best_metric {metric!r} is not among epoch {epoch}'s metrics "
                    f"({', '.join(sorted(values)) or 'none'})"
                )
            best, value = context.best, values[metric]
            if best is None or (
                value < best.metrics[metric] if mode == "min" else value > best.metrics[metric]
            ):
                context.best = info
        self.ctx.add_artifact(path, name=f"checkpoints/{path.name}")
        self.ctx.save_checkpoint(f"epoch_{epoch}", info.model_dump())
        manifest = {"last": info.model_dump(), "metric": metric, "mode": mode,
                    "best": context.best.model_dump() if context.best else None}  # fmt: skip
        write_atomic(context.checkpoint_dir / MANIFEST, manifest)
        return info

    def selection(self) -> tuple[str | None, str]:
        """The metric and mode that select the best checkpoint (params win)."""
        metric = getattr(self.params, "best_metric", None) or type(self).best_metric
        mode = getattr(self.params, "best_mode", None) or type(self).best_mode
        return metric, mode

    # ------------------------------------------------------------------ steps
    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """Register ``prepare``, ``train`` and ``save_weights`` (replace or extend them)."""
        registry.register(PrepareTrainingStep(self))
        registry.register(TrainStep(self))
        registry.register(SaveWeightsStep(self))

    def create_context(self) -> TrainContext:
        """A fresh :class:`TrainContext` (also ``self.context`` while running)."""
        dataset = getattr(self.params, "dataset", None)
        ref = dataset if isinstance(dataset, DatasetRef) else None
        self._context = TrainContext(
            runtime_ctx=self.ctx,
            params=self.params,
            dataset_path=(ref.location if ref else Path(dataset)) if dataset else None,
            dataset=ref,
            output_dir=self.default_output_dir(),
        )
        return self._context

    def default_output_dir(self) -> Path:
        """The ``output_dir`` param; else, in a pipeline, ``models/<node>`` of its working
        folder (so a resumed pipeline continues from the last checkpoint); else the
        run's artifacts folder."""
        out = getattr(self.params, "output_dir", None)
        if out:
            return Path(out)
        pipeline = self.ctx.pipeline
        if pipeline is not None:
            node = str(self.ctx.extras.get("node") or self.action_name)
            return Path(pipeline.models_dir) / node
        return self.ctx.artifacts_dir

    def step_result(self, context: BaseStepContext) -> TrainResult:
        """The :class:`TrainResult` of the finished steps."""
        assert isinstance(context, TrainContext)
        if context.weights_path is None or context.weights_sha256 is None:
            raise RuntimeError("no weights were saved (the save_weights step did not run)")
        best, (metric, _) = context.best, self.selection()
        last = context.history[-1] if context.history else {}
        return TrainResult(
            weights_path=str(context.weights_path),
            weights_sha256=context.weights_sha256,
            epochs_run=len(context.history),
            last_epoch=int(last.get("epoch", context.start_epoch - 1)),
            resumed_from=context.resumed_from,
            metrics={k: v for k, v in last.items() if k != "epoch"},
            best_metric=metric if best else None,
            best_value=best.metrics.get(metric) if best and metric else None,
            best_epoch=best.epoch if best else None,
            best_path=best.path if best else None,
            checkpoints=list(context.checkpoints),
        )


class _TrainStep(BaseStep[TrainContext]):
    def __init__(self, action: BaseTrainAction[Any]) -> None:
        self.action = action


class PrepareTrainingStep(_TrainStep):
    """Create ``output_dir``, find the checkpoint to resume from and build the model."""

    name = "prepare"
    progress_weight = 1.0

    def execute(self, context: TrainContext) -> None:
        context.output_dir.mkdir(parents=True, exist_ok=True)
        params = self.action.params
        source = getattr(params, "resume_from", None)
        found = None
        if source:
            found = find_checkpoint(Path(source))
            if found is None:
                raise FileNotFoundError(f"resume_from: no checkpoint found in {source}")
        elif getattr(params, "resume", False):
            found = find_checkpoint(context.output_dir)
        if found is not None:
            info, best = found
            context.resumed_from = info.path
            context.start_epoch = info.epoch + 1
            context.best = best
            context.resume_state = load_state(Path(info.path))
            self.action.log_message(f"resuming after epoch {info.epoch} from {info.path}")
        self.action.setup_model(context.resume_state)


class TrainStep(_TrainStep):
    """Run the epoch loop (:meth:`BaseTrainAction.train`)."""

    name = "train"
    progress_weight = 8.0

    def execute(self, context: TrainContext) -> None:
        self.action.train()


class SaveWeightsStep(_TrainStep):
    """Write the final weights, record them as an artifact with their SHA-256."""

    name = "save_weights"
    progress_weight = 1.0

    def execute(self, context: TrainContext) -> None:
        target = context.output_dir / self.action.weights_filename
        path = Path(self.action.save_weights(target))
        context.weights_path = path
        context.weights_sha256 = sha256_file(path)
        self.action.ctx.add_artifact(path)
        self.action.log("weights", {"path": str(path), "sha256": context.weights_sha256})


def find_checkpoint(source: Path) -> tuple[CheckpointInfo, CheckpointInfo | None] | None:
    """The last checkpoint (and the best one, when known) in ``source``: a checkpoint
    file, a ``checkpoints`` folder, or a folder holding one."""
    if source.is_file():
        match = _EPOCH_FILE.match(source.name)
        if match is None:
            raise ValueError(f"resume_from: {source} is not a checkpoint file (epoch_NNNN.json)")
        info = CheckpointInfo(epoch=int(match[1]), path=str(source), sha256=sha256_file(source))
        return info, None
    for folder in (source / "checkpoints", source):
        manifest = folder / MANIFEST
        if manifest.is_file():
            data = json.loads(manifest.read_text())
            best = CheckpointInfo.model_validate(data["best"]) if data.get("best") else None
            return CheckpointInfo.model_validate(data["last"]), best
        files = sorted(
            (int(m[1]), p) for p in folder.glob("epoch_*") if (m := _EPOCH_FILE.match(p.name))
        )
        if files:
            epoch, path = files[-1]
            return CheckpointInfo(epoch=epoch, path=str(path), sha256=sha256_file(path)), None
    return None


def load_state(path: Path) -> Any:
    """A checkpoint file's state: the JSON mapping, or the bytes of a ``.bin``."""
    if path.suffix == ".bin":
        return path.read_bytes()
    return json.loads(path.read_text())


def _floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"metric {key!r} must be a number, got {value!r}") from None
    return out
