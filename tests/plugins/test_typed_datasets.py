"""Datasets as typed pipeline data (issue 15, part 4): a dataset action hands the next
action a DatasetRef (location + format); an action whose ``input_type`` names a format
refuses a dataset in another one, naming the field, and trains on one in its own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hoist.datasets import DatasetRef, write_dataset
from hoist.datasets.synthetic import generate
from hoist.errors import ActionFailedError, ParamsValidationError
from hoist.executors.local import LocalExecutor
from hoist.pipelines import ActionPipeline, PipelineWarning
from hoist.plugins.actions import BaseTrainAction, DatasetAction, DatasetParams, TrainParams
from hoist.plugins.types import COCODataset, Dataset, YOLODataset
from hoist.runs.models import RunKind, RunStatus
from hoist.runs.sinks.memory import MemorySink


class Fetch(DatasetAction[DatasetParams]):
    """Copies ``source``; converts when ``convert_to`` is set (the default steps)."""

    output_type = Dataset  # any format: the run-time check is what catches a wrong one


class TrainOnYOLO(BaseTrainAction[TrainParams]):
    """Counts the label files of a YOLO dataset (all it needs of one)."""

    input_type = YOLODataset

    def setup_model(self, state: Any) -> None:
        ref = self.context.dataset
        assert ref is not None and ref.format == "yolo"
        self.labels = sum(1 for _ in (ref.location / "labels").rglob("*.txt"))

    def train_epoch(self, epoch: int) -> Mapping[str, float]:
        return {"loss": 1.0 / epoch, "labels": float(self.labels)}

    def checkpoint_state(self) -> Mapping[str, Any]:
        return {"labels": self.labels}


@pytest.fixture
def yolo(tmp_path: Path) -> Path:
    write_dataset(generate(tmp_path / "gen", images=6), tmp_path / "yolo", "yolo")
    return tmp_path / "yolo"


def _pipeline(sink: MemorySink) -> Any:
    (run,) = [r for r in sink.runs.values() if r.kind == RunKind.PIPELINE]
    return run


def test_a_dataset_flows_as_a_ref_into_training(yolo: Path, tmp_path: Path) -> None:
    sink = MemorySink()
    with pytest.warns(PipelineWarning, match="produces Dataset but 'train_on_yolo' needs"):
        pipeline = ActionPipeline([Fetch, TrainOnYOLO])
    result = pipeline.execute(
        {"source": str(yolo), "path": str(tmp_path / "fetched"), "epochs": 1},
        executor=LocalExecutor(sink=sink, progress_interval=0),
    )
    fetched = DatasetRef(path=str(tmp_path / "fetched"), format="yolo")
    assert DatasetRef.model_validate(result["dataset"]) == fetched
    assert result["metrics"] == {"loss": 1.0, "labels": 6.0}
    train = next(r for r in sink.runs.values() if r.action == "train_on_yolo")
    assert train.params["dataset"] == {"path": fetched.path, "format": "yolo"}


def test_a_dataset_in_another_format_is_refused_naming_the_field(
    yolo: Path, tmp_path: Path
) -> None:
    sink = MemorySink()
    with pytest.warns(PipelineWarning):
        pipeline = ActionPipeline([Fetch, TrainOnYOLO])
    params = {"source": str(yolo), "path": str(tmp_path / "f"), "convert_to": "coco"}
    with pytest.raises(ActionFailedError) as info:
        pipeline.execute(params, executor=LocalExecutor(sink=sink, progress_interval=0))
    message = info.value.error_message
    assert "node 'train_on_yolo'" in message and "dataset:" in message
    assert "is coco, but this action takes YOLODataset (yolo): convert it first" in message
    assert _pipeline(sink).status is RunStatus.FAILED
    assert not [r for r in sink.runs.values() if r.action == "train_on_yolo"]  # never ran


def test_a_direct_call_is_checked_the_same_way(yolo: Path, tmp_path: Path) -> None:
    coco = DatasetRef.at(yolo).convert("coco", tmp_path / "coco")
    with pytest.raises(ParamsValidationError) as info:
        TrainOnYOLO.validate_params({"dataset": coco.model_dump()})
    assert list(info.value.field_errors) == ["dataset"]
    # A plain path is not a typed dataset: it is taken as given.
    assert TrainOnYOLO.validate_params({"dataset": str(yolo)}).dataset == str(yolo)


def test_the_static_check_still_refuses_a_declared_mismatch() -> None:
    class CocoOut(Fetch):
        output_type = COCODataset

    with pytest.warns(PipelineWarning, match="produces COCODataset but 'train_on_yolo' needs"):
        ActionPipeline([CocoOut, TrainOnYOLO])
