"""Train a (simulated) model: epochs with loss and accuracy, weights saved as an artifact."""

import json
import math
import time

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory
from hoist.plugins.types import Dataset, ModelWeights


class TrainParams(BaseModel):
    epochs: int = Field(10, ge=1, le=1000, description="Passes over the data")
    learning_rate: float = Field(0.1, gt=0, le=1, description="Step size")
    batch_size: int = Field(32, ge=1, le=1024, description="Samples per step")
    sleep_per_epoch: float = Field(0.05, ge=0, le=10, description="Pause per epoch")


class TrainResult(BaseModel):
    weights_path: str
    final_loss: float
    accuracy: float


class TrainAction(BaseAction[TrainParams]):
    """Train a model and save its weights."""

    action_name = "train"
    category = PluginCategory.NEURAL_NET
    input_type = Dataset
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self) -> TrainResult:
        loss, accuracy = 1.0, 0.5
        for epoch in range(1, self.params.epochs + 1):
            loss = math.exp(-self.params.learning_rate * epoch * 3)
            accuracy = 1.0 - loss / 2
            self.set_metrics(
                {"epoch": epoch, "loss": round(loss, 4), "accuracy": round(accuracy, 4)},
                category="train",
            )
            self.set_progress(epoch, self.params.epochs)
            time.sleep(self.params.sleep_per_epoch)
        weights = self.ctx.artifacts_dir / "weights.json"
        weights.write_text(json.dumps({"bias": 0.1, "scale": round(accuracy, 4)}))
        self.ctx.add_artifact(weights)
        self.log_message(f"trained {self.params.epochs} epochs, accuracy {accuracy:.1%}")
        return TrainResult(
            weights_path=str(weights), final_loss=round(loss, 4), accuracy=round(accuracy, 4)
        )
