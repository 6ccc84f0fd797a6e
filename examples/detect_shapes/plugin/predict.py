"""``predict``: batch inference over the dataset's ``val`` images, scored against their
labels (mean IoU of the largest shape's box, class accuracy)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from hoist.datasets import DatasetRef
from hoist.errors import UserInputError
from hoist.plugins.actions import BaseInferenceAction, InferenceParams, InferenceResult
from hoist.plugins.actions.inference import InferenceContext
from hoist.plugins.steps.base import BaseStep
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry
from plugin.data import Sample, samples
from plugin.shapes import Box, iou


class PredictParams(InferenceParams):
    batch_size: int = Field(16, ge=1, le=4096, description="Images per predict_batch call")
    dataset: DatasetRef | str | None = Field(None, description="Dataset whose images to predict")
    split: str = Field("val", description="Which split's images (when no inputs are given)")


class DetectResult(InferenceResult):
    mean_iou: float | None = None
    accuracy: float | None = None
    baseline_iou: float | None = Field(
        None, description="Mean IoU of always answering the train split's mean box"
    )
    predictions_path: str | None = None


class PredictAction(BaseInferenceAction[PredictParams]):
    """Find the largest shape in each image, in batches; score against the labels."""

    action_name = "predict"

    labelled: list[Sample]
    scores: dict[str, Any]

    def create_context(self) -> InferenceContext:
        """The base's context; the labelled samples and scores start empty."""
        self.labelled, self.scores = [], {}
        return super().create_context()

    def load_model(self) -> Any:
        from plugin.model import load_net

        if not self.params.weights_path:
            raise UserInputError("weights_path: give the weights.pt a `train` run wrote")
        return load_net(self.params.weights_path)

    def dataset(self) -> DatasetRef | None:
        """The ``dataset`` param as a ref (a folder's format is detected)."""
        given = self.params.dataset
        if given is None or isinstance(given, DatasetRef):
            return given
        return DatasetRef.at(given)

    def inputs(self) -> Sequence[Any]:
        """The ``inputs`` param (image files), else the ``split`` images of ``dataset``."""
        if self.params.inputs:
            return list(self.params.inputs)
        ref = self.dataset()
        if ref is None:
            raise UserInputError("give inputs (image files) or a dataset to predict")
        _, self.labelled = samples(ref, self.params.split)
        return [s.path for s in self.labelled]

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        """One forward pass over a batch of image files."""
        import torch

        from plugin.model import boxes_to_pixels, images_tensor

        net, categories = self.model
        x = images_tensor([str(i) for i in items])
        with torch.no_grad():
            boxes, logits = net(x)
        probs = logits.softmax(1)
        side = x.shape[-1]
        out = []
        for item, box, p in zip(items, boxes_to_pixels(boxes, side, side), probs, strict=True):
            k = int(p.argmax())
            out.append({"file": str(item), "box": [round(v, 2) for v in box],
                        "category": categories[k], "score": round(float(p[k]), 4)})  # fmt: skip
        return out

    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """The base's ``load_model`` and ``predict``, then ``score``."""
        super().setup_steps(registry)
        registry.register(ScoreStep(self))

    def step_result(self, context: BaseStepContext) -> DetectResult:
        base = super().step_result(context)
        return DetectResult(**base.model_dump(), **self.scores)


class ScoreStep(BaseStep[InferenceContext]):
    """Score the predictions against the labels (skipped for unlabelled inputs) and
    write them to ``predictions.json``."""

    name = "score"
    progress_weight = 1.0

    def __init__(self, action: PredictAction) -> None:
        self.action = action

    def execute(self, context: InferenceContext) -> None:
        action = self.action
        path = action.ctx.artifacts_dir / "predictions.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(context.predictions, indent=1))
        action.ctx.add_artifact(path)
        scores: dict[str, Any] = {"predictions_path": str(path)}
        labelled = action.labelled
        ref = action.dataset()
        if labelled and ref is not None:
            categories, train = samples(ref, "train")
            pairs = list(zip(context.predictions, labelled, strict=True))
            scores["mean_iou"] = round(
                sum(iou(_box(p["box"]), s.box) for p, s in pairs) / len(pairs), 4
            )
            right = sum(p["category"] == categories[s.category] for p, s in pairs)
            scores["accuracy"] = round(right / len(pairs), 4)
            scores["baseline_iou"] = round(_mean_box_iou(train, labelled), 4)
            action.set_metrics({k: v for k, v in scores.items() if k != "predictions_path"},
                               category="inference")  # fmt: skip
        action.scores = scores


def _box(values: list[float]) -> Box:
    x, y, w, h = values
    return (x, y, w, h)


def _mean_box_iou(train: list[Sample], test: list[Sample]) -> float:
    """Mean IoU on ``test`` of always answering the mean box of ``train``."""
    n = len(train)
    mean = _box([sum(s.box[i] for s in train) / n for i in range(4)])
    return sum(iou(mean, s.box) for s in test) / len(test)
