"""``BaseTrainAction``: real runs through LocalExecutor — epochs, checkpoints, resume,
best model by a metric, weights with their checksum."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.pipelines import ActionPipeline
from hoist.plugins.actions import BaseTrainAction, TrainParams, TrainResult
from hoist.runs.models import ArtifactEvent, CheckpointEvent, MetricsEvent, ProgressEvent, RunKind
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.memory import MemorySink

# val_loss falls until epoch 3, then rises: the best checkpoint is epoch 3.
VAL = {1: 0.9, 2: 0.5, 3: 0.2, 4: 0.4, 5: 0.6, 6: 0.7}


class Params(TrainParams):
    fail_at: int | None = None


class Train(BaseTrainAction[Params]):
    """A tiny "model": a counter and a sum, saved in every checkpoint."""

    best_metric = "val_loss"
    trained: list[int] = []
    resumed_state: Any = None

    def setup_model(self, state: Any) -> None:
        type(self).resumed_state = state
        self.state = dict(state) if state else {"seen": 0, "total": 0.0}

    def train_epoch(self, epoch: int) -> Mapping[str, float]:
        if epoch == self.params.fail_at:
            raise RuntimeError(f"interrupted at epoch {epoch}")
        type(self).trained.append(epoch)
        self.state["seen"] += 1
        self.state["total"] += VAL[epoch]
        return {"loss": 1.0 / epoch, "val_loss": VAL[epoch]}

    def checkpoint_state(self) -> Mapping[str, Any]:
        return self.state


@pytest.fixture
def executor() -> tuple[LocalExecutor, MemorySink]:
    Train.trained = []
    Train.resumed_state = None
    sink = MemorySink()
    return LocalExecutor(sink=sink, progress_interval=0), sink


def _events(sink: MemorySink, kind: type) -> list[Any]:
    (run_id,) = list(sink.runs)[-1:]
    return [e for e in sink.events(run_id) if isinstance(e, kind)]


def test_epochs_checkpoints_best_and_weights(executor: Any, tmp_path: Path) -> None:
    ex, sink = executor
    result = ex.execute(Train, {"epochs": 4, "output_dir": str(tmp_path / "out")})
    assert isinstance(result, TrainResult)
    assert Train.trained == [1, 2, 3, 4] and result.epochs_run == 4 and result.last_epoch == 4
    assert [c.epoch for c in result.checkpoints] == [1, 2, 3, 4]
    assert (result.best_metric, result.best_epoch, result.best_value) == ("val_loss", 3, 0.2)
    assert result.best_path and result.best_path.endswith("epoch_0003.json")
    weights = Path(result.weights_path)
    assert result.weights_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert json.loads(weights.read_text())["seen"] == 4
    metrics = _events(sink, MetricsEvent)
    assert [m.values["epoch"] for m in metrics if m.category == "train"] == [1, 2, 3, 4]
    bars = [(p.current, p.total) for p in _events(sink, ProgressEvent) if p.category == "train"]
    assert bars[-1] == (4, 4)
    assert [c.name for c in _events(sink, CheckpointEvent)] == [f"epoch_{n}" for n in (1, 2, 3, 4)]
    names = {a.name for a in _events(sink, ArtifactEvent)}
    assert {"checkpoints/epoch_0001.json", "weights.json"} <= names
    for info in result.checkpoints:
        assert hashlib.sha256(Path(info.path).read_bytes()).hexdigest() == info.sha256


def test_checkpoints_default_to_the_runs_artifacts(executor: Any) -> None:
    ex, sink = executor
    result = ex.execute(Train, {"epochs": 2})
    (run_id,) = list(sink.runs)
    path = Path(result.checkpoints[0].path)
    assert path.parent.name == "checkpoints" and path.parent.parent.name == "artifacts"
    assert path.parent.parent.parent.name == run_id


def test_an_interrupted_run_resumes_from_its_last_checkpoint(executor: Any, tmp_path: Path) -> None:
    ex, _ = executor
    out = str(tmp_path / "out")
    with pytest.raises(ActionFailedError, match="interrupted at epoch 4"):
        ex.execute(Train, {"epochs": 6, "output_dir": out, "fail_at": 4})
    assert Train.trained == [1, 2, 3]
    Train.trained = []
    result = ex.execute(Train, {"epochs": 6, "output_dir": out})
    assert Train.trained == [4, 5, 6]
    assert Train.resumed_state == {"seen": 3, "total": pytest.approx(1.6)}
    assert result.resumed_from and result.resumed_from.endswith("epoch_0003.json")
    assert result.epochs_run == 3 and result.last_epoch == 6
    # the best checkpoint (epoch 3) came from the first run and is still the best
    assert result.best_epoch == 3 and result.best_value == 0.2
    assert json.loads(Path(result.weights_path).read_text())["seen"] == 6


def test_resume_from_another_runs_folder(executor: Any, tmp_path: Path) -> None:
    ex, _ = executor
    first = ex.execute(Train, {"epochs": 2})
    Train.trained = []
    folder = Path(first.checkpoints[0].path).parent.parent  # the first run's artifacts
    result = ex.execute(Train, {"epochs": 3, "resume_from": str(folder)})
    assert Train.trained == [3] and result.last_epoch == 3
    # a checkpoint file works too
    Train.trained = []
    again = ex.execute(Train, {"epochs": 3, "resume_from": first.checkpoints[0].path})
    assert Train.trained == [2, 3] and again.epochs_run == 2


def test_resume_false_starts_over(executor: Any, tmp_path: Path) -> None:
    ex, _ = executor
    out = str(tmp_path / "out")
    ex.execute(Train, {"epochs": 2, "output_dir": out})
    Train.trained = []
    ex.execute(Train, {"epochs": 2, "output_dir": out, "resume": False})
    assert Train.trained == [1, 2]


def test_best_by_max_and_checkpoint_every(executor: Any, tmp_path: Path) -> None:
    ex, _ = executor
    result = ex.execute(
        Train, {"epochs": 5, "best_metric": "val_loss", "best_mode": "max", "checkpoint_every": 2}
    )
    assert [c.epoch for c in result.checkpoints] == [2, 4, 5]  # and always the last
    assert result.best_epoch == 5 and result.best_value == 0.6


def test_an_unknown_best_metric_names_the_metrics(executor: Any) -> None:
    ex, _ = executor
    with pytest.raises(ActionFailedError, match=r"best_metric 'acc'.*loss, val_loss"):
        ex.execute(Train, {"epochs": 1, "best_metric": "acc"})


def test_resume_from_a_folder_without_checkpoints_is_refused(executor: Any, tmp_path: Path) -> None:
    ex, _ = executor
    with pytest.raises(ActionFailedError, match="resume_from: no checkpoint found"):
        ex.execute(Train, {"epochs": 1, "resume_from": str(tmp_path)})


def test_a_non_numeric_metric_is_refused(executor: Any) -> None:
    class Bad(Train):
        def train_epoch(self, epoch: int) -> Mapping[str, Any]:
            return {"loss": "low", "val_loss": 1}

    ex, _ = executor
    with pytest.raises(ActionFailedError, match="metric 'loss' must be a number"):
        ex.execute(Bad, {"epochs": 1})


def test_epochs_loop_and_binary_state(executor: Any, tmp_path: Path) -> None:
    class Loop(BaseTrainAction[TrainParams]):
        best_metric = None
        weights_filename = "model.bin"

        def train(self) -> None:
            for epoch in self.epochs():
                self.end_epoch(epoch, {"loss": 1 / epoch}, state=bytes([epoch]))

        def save_weights(self, path: Path) -> Path:
            path.write_bytes(b"weights")
            return path

    ex, _ = executor
    out = tmp_path / "bin"
    result = ex.execute(Loop, {"epochs": 2, "output_dir": str(out)})
    assert Path(result.checkpoints[-1].path).read_bytes() == b"\x02"
    assert result.best_epoch is None
    assert result.weights_sha256 == hashlib.sha256(b"weights").hexdigest()
    resumed = ex.execute(Loop, {"epochs": 3, "output_dir": str(out)})
    assert resumed.resumed_from and resumed.resumed_from.endswith("epoch_0002.bin")
    assert resumed.epochs_run == 1


class Flaky(Train):
    """Fails at epoch 3 while ``marker`` exists (same params on resume)."""

    action_name = "flaky_train"

    def train_epoch(self, epoch: int) -> Mapping[str, float]:
        if epoch == 3 and Path(str(self.params.dataset)).exists():
            raise RuntimeError("node interrupted")
        return super().train_epoch(epoch)


def test_a_resumed_pipeline_continues_training_from_its_last_checkpoint(
    runtime: Runtime, tmp_path: Path
) -> None:
    Train.trained = []
    marker = tmp_path / "marker"
    marker.touch()
    pipeline = ActionPipeline([Flaky], name="train-resume")
    executor = LocalExecutor(runtime=runtime)
    with pytest.raises(ActionFailedError, match="node interrupted"):
        pipeline.execute({"epochs": 4, "dataset": str(marker)}, executor=executor)
    runtime.sink.flush()
    (old,) = runtime.store.list_runs(RunFilter(kind=RunKind.PIPELINE))
    assert Train.trained == [1, 2]
    marker.unlink()
    result = pipeline.execute(resume_from=old.id, executor=executor)
    assert Train.trained == [1, 2, 3, 4]
    assert result["resumed_from"].endswith("epoch_0002.json") and result["epochs_run"] == 2
    assert "/models/" in result["weights_path"]
