"""Run a (simulated) model over inputs."""

import json
from pathlib import Path

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory
from hoist.plugins.types import ModelWeights


class InferenceParams(BaseModel):
    inputs: list[float] = Field([0.5, 1.5, 2.5], description="Values to score")
    weights_path: str | None = Field(None, description="weights.json from train (optional)")


class InferenceResult(BaseModel):
    predictions: list[float]


class InferenceAction(BaseAction[InferenceParams]):
    """Score inputs with trained weights."""

    action_name = "inference"
    category = PluginCategory.NEURAL_NET
    input_type = ModelWeights
    result_model = InferenceResult

    def execute(self) -> InferenceResult:
        weights = {"bias": 0.0, "scale": 1.0}
        if self.params.weights_path:
            weights = json.loads(Path(self.params.weights_path).read_text())
        out = []
        for i, value in enumerate(self.params.inputs, start=1):
            out.append(round(weights["bias"] + weights["scale"] * value, 4))
            self.set_progress(i, len(self.params.inputs))
        return InferenceResult(predictions=out)
