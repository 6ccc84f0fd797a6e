"""Train a small model (y = scale * x + bias) with gradient descent.

The base (``BaseTrainAction``) runs the epochs with progress and metrics, saves a
checkpoint after each one, continues from the last checkpoint when ``output_dir``
already holds some (or from ``resume_from``), keeps the best epoch by ``val_loss``
and records the final weights with their SHA-256. Replace the model with yours.
"""

import csv
import random
import time
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from hoist.plugins.actions import BaseTrainAction, TrainParams


class Params(TrainParams):
    epochs: int = Field(10, ge=1, le=1000, description="Passes over the data")
    learning_rate: float = Field(0.5, gt=0, le=1, description="Step size")
    steps_per_epoch: int = Field(10, ge=1, le=10_000, description="Updates per epoch")
    sleep_per_epoch: float = Field(0.05, ge=0, le=10, description="Pause per epoch")


class TrainAction(BaseTrainAction[Params]):
    """Train a model and save its weights."""

    action_name = "train"
    best_metric = "val_loss"
    best_mode = "min"

    def setup_model(self, state: Any) -> None:
        # `state` is the checkpoint this run resumes from (None for a fresh start).
        self.weights = dict(state) if state else {"scale": 0.0, "bias": 0.0}
        self.train_set, self.val_set = self.load_data()

    def load_data(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        if self.context.dataset_path:  # the `dataset` param: a CSV file with x,y columns
            with self.context.dataset_path.open() as fh:
                rows = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(fh)]
        else:  # generated: y = 2x + 1 with a little noise
            rng = random.Random(0)
            rows = [(x, 2 * x + 1 + rng.gauss(0, 0.01)) for x in (i / 40 for i in range(40))]
        return rows[::2] + rows[3::4], rows[1::4]

    def train_epoch(self, epoch: int) -> Mapping[str, float]:
        w = self.weights
        for _ in range(self.params.steps_per_epoch):
            grad_s = grad_b = 0.0
            for x, y in self.train_set:
                err = w["scale"] * x + w["bias"] - y
                grad_s += 2 * err * x / len(self.train_set)
                grad_b += 2 * err / len(self.train_set)
            w["scale"] -= self.params.learning_rate * grad_s
            w["bias"] -= self.params.learning_rate * grad_b
        time.sleep(self.params.sleep_per_epoch)
        val_errors = [abs(w["scale"] * x + w["bias"] - y) for x, y in self.val_set]
        return {
            "loss": round(self.mse(self.train_set), 6),
            "val_loss": round(self.mse(self.val_set), 6),
            "accuracy": sum(e < 0.25 for e in val_errors) / len(val_errors),
        }

    def mse(self, rows: list[tuple[float, float]]) -> float:
        w = self.weights
        return sum((w["scale"] * x + w["bias"] - y) ** 2 for x, y in rows) / len(rows)

    def checkpoint_state(self) -> Mapping[str, Any]:
        return {k: round(v, 6) for k, v in self.weights.items()}
