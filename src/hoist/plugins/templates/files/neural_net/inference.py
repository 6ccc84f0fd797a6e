"""Predict with the trained model, in batches.

The base (``BaseInferenceAction``) loads the model once per worker process and keeps it
warm across runs with the same ``weights_path``, predicts in batches of ``batch_size``
with progress, and can serve the same model on Ray Serve::

    from hoist.deployment.serve_action import BaseDeploymentAction

    class ServeAction(BaseDeploymentAction[ServeParams]):
        entrypoint = InferenceAction.serve_deployment(weights_path="weights.json")
"""

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from hoist.plugins.actions import BaseInferenceAction, InferenceParams


class Params(InferenceParams):
    inputs: list[float] = Field([0.5, 1.5, 2.5], description="Values to score")


class InferenceAction(BaseInferenceAction[Params]):
    """Score inputs with trained weights."""

    action_name = "inference"

    def load_model(self) -> dict[str, float]:
        if self.params.weights_path:  # weights.json from the train action
            return dict(json.loads(Path(self.params.weights_path).read_text()))
        return {"scale": 1.0, "bias": 0.0}

    def predict_batch(self, items: list[Any]) -> list[float]:
        return [round(self.model["bias"] + self.model["scale"] * x, 4) for x in items]
