"""``train``: a step-based action — prepare data, train, evaluate, save the model."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from hoist import BaseAction, BaseStep, BaseStepContext, PluginCategory, StepRegistry, StepResult
from hoist.plugins.types import Dataset, ModelWeights
from plugin.model import accuracy, epoch, load_dataset, make_dataset


class TrainParams(BaseModel):
    epochs: int = Field(20, ge=1, le=1000, description="Passes over the data")
    learning_rate: float = Field(0.5, gt=0, le=10, description="Gradient step size")
    seed: int = Field(7, description="Seed for the generated data")
    samples: int = Field(200, ge=10, le=100_000, description="Points when generating data")
    dataset_path: str | None = Field(None, description="A dataset to train on (else generate)")
    sleep_per_epoch: float = Field(0.05, ge=0, le=5, description="Pause per epoch (demo)")


class TrainResult(BaseModel):
    weights_path: str
    final_loss: float
    accuracy: float
    epochs: int


@dataclass
class TrainContext(BaseStepContext):
    train: list = field(default_factory=list)
    test: list = field(default_factory=list)
    weights: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    losses: list = field(default_factory=list)
    test_accuracy: float = 0.0
    weights_path: Path | None = None


class PrepareData(BaseStep[TrainContext]):
    name = "prepare_data"
    progress_weight = 0.1

    def execute(self, context: TrainContext) -> StepResult:
        p = context.params
        data = (load_dataset(Path(p.dataset_path)) if p.dataset_path
                else make_dataset(p.samples, p.seed, 0.8))  # fmt: skip
        cut = int(len(data) * 0.8)
        context.train, context.test = data[:cut], data[cut:]
        context.log_message(f"{len(context.train)} training and {len(context.test)} test points")
        return StepResult(data={"train_points": len(context.train)})


class Train(BaseStep[TrainContext]):
    name = "train"
    progress_weight = 0.7

    def execute(self, context: TrainContext) -> StepResult:
        p = context.params
        ctx = context.runtime_ctx
        for n in range(p.epochs):
            loss = epoch(context.weights, context.train, p.learning_rate)
            context.losses.append(loss)
            acc = accuracy(context.weights, context.train)
            ctx.set_metrics({"epoch": n + 1, "loss": round(loss, 5), "accuracy": round(acc, 4)},
                            category="train")  # fmt: skip
            ctx.set_progress(n + 1, p.epochs, category="epochs")  # also a cancellation point
            context.set_progress(n + 1, p.epochs)
            time.sleep(p.sleep_per_epoch)
        return StepResult(data={"final_loss": round(context.losses[-1], 5)})


class Evaluate(BaseStep[TrainContext]):
    name = "evaluate"
    progress_weight = 0.1

    def execute(self, context: TrainContext) -> StepResult:
        context.test_accuracy = accuracy(context.weights, context.test)
        context.runtime_ctx.set_metrics({"test_accuracy": context.test_accuracy}, "eval")
        return StepResult(data={"accuracy": round(context.test_accuracy, 4)})


class SaveModel(BaseStep[TrainContext]):
    name = "save_model"
    progress_weight = 0.1

    def execute(self, context: TrainContext) -> StepResult:
        ctx = context.runtime_ctx
        folder = ctx.pipeline.models_dir if ctx.pipeline else ctx.artifacts_dir
        path = folder / "weights.json"
        path.write_text(json.dumps({"weights": context.weights}))
        ctx.add_artifact(path)
        context.weights_path = path
        return StepResult(data={"weights_path": str(path)}, rollback_data={"path": str(path)})

    def rollback(self, context: TrainContext, result: StepResult) -> None:
        Path(result.rollback_data["path"]).unlink(missing_ok=True)


class TrainAction(BaseAction[TrainParams]):
    """Train a logistic-regression model, step by step."""

    action_name = "train"
    category = PluginCategory.NEURAL_NET
    input_type = Dataset
    output_type = ModelWeights
    result_model = TrainResult

    def setup_steps(self, registry: StepRegistry) -> None:
        for step in (PrepareData(), Train(), Evaluate(), SaveModel()):
            registry.register(step)

    def create_context(self) -> TrainContext:
        return TrainContext(runtime_ctx=self.ctx, params=self.params)

    def step_result(self, context: TrainContext) -> TrainResult:  # type: ignore[override]
        self.log_message(f"test accuracy {context.test_accuracy:.1%}", "success")
        return TrainResult(
            weights_path=str(context.weights_path),
            final_loss=round(context.losses[-1], 5),
            accuracy=round(context.test_accuracy, 4),
            epochs=len(context.losses),
        )
