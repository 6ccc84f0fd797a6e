"""``evaluate``: score saved weights on a dataset."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory
from hoist.plugins.types import ModelWeights
from plugin.model import accuracy, load_dataset, make_dataset


class EvaluateParams(BaseModel):
    weights_path: str = Field(..., description="weights.json written by train")
    dataset_path: str | None = Field(None, description="Dataset to score (else a fresh one)")
    seed: int = Field(99, description="Seed of the fresh dataset")


class EvaluateResult(BaseModel):
    test_accuracy: float
    points: int


class EvaluateAction(BaseAction[EvaluateParams]):
    """Measure a trained model's accuracy."""

    action_name = "evaluate"
    category = PluginCategory.NEURAL_NET
    input_type = ModelWeights
    result_model = EvaluateResult

    def execute(self) -> EvaluateResult:
        weights = json.loads(Path(self.params.weights_path).read_text())["weights"]
        data = (load_dataset(Path(self.params.dataset_path)) if self.params.dataset_path
                else make_dataset(200, self.params.seed, 0.8))  # fmt: skip
        score = accuracy(weights, data)
        self.set_metrics({"test_accuracy": score})
        self.set_progress(1, 1)
        return EvaluateResult(test_accuracy=round(score, 4), points=len(data))
