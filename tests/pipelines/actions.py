"""Actions used by the pipeline tests (importable, so subprocesses can use them too)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pydantic import BaseModel, Field

from hoist import BaseAction
from hoist.plugins.types import Dataset, ModelWeights, YOLODataset


def _touch(counter_dir: str | None, name: str) -> None:
    """Count a side effect: one file line per execution of ``name``."""
    if counter_dir:
        with open(Path(counter_dir) / f"{name}.count", "a") as fh:
            fh.write("x\n")


class DownloadParams(BaseModel):
    dataset_id: int = Field(ge=1)
    counter_dir: str | None = None
    delay: float = 0.0


class DownloadResult(BaseModel):
    path: str
    files: list[str]


class Download(BaseAction[DownloadParams]):
    output_type = YOLODataset
    result_model = DownloadResult

    def execute(self) -> DownloadResult:
        time.sleep(self.params.delay)
        _touch(self.params.counter_dir, "download")
        folder = self.ctx.pipeline.datasets_dir if self.ctx.pipeline else Path(".")
        (folder / "data.txt").write_text(f"dataset {self.params.dataset_id}")
        files = [f"f{i}.jpg" for i in range(self.params.dataset_id)]
        return DownloadResult(path=str(folder / "data.txt"), files=files)


class ConvertParams(BaseModel):
    path: str
    counter_dir: str | None = None
    delay: float = 0.0


class ConvertResult(BaseModel):
    converted: str


class Convert(BaseAction[ConvertParams]):
    input_type = Dataset
    output_type = YOLODataset
    result_model = ConvertResult

    def execute(self) -> ConvertResult:
        for i in range(10):
            time.sleep(self.params.delay / 10)
            self.set_progress(i + 1, 10)
        converted = Path(self.params.path).read_text().upper()
        _touch(self.params.counter_dir, "convert")
        return ConvertResult(converted=converted)


class TrainParams(BaseModel):
    converted: str
    epochs: int = 3
    counter_dir: str | None = None
    delay: float = 0.0


class TrainResult(BaseModel):
    model: str


class Train(BaseAction[TrainParams]):
    input_type = YOLODataset
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self) -> TrainResult:
        for epoch in range(self.params.epochs):
            time.sleep(self.params.delay / max(self.params.epochs, 1))
            self.set_progress(epoch + 1, self.params.epochs)
            self.set_metrics({"loss": 1.0 / (epoch + 1)}, category="train")
        _touch(self.params.counter_dir, "train")
        return TrainResult(model=f"model({self.params.converted}, {self.params.epochs})")


class ExportParams(BaseModel):
    model: str
    counter_dir: str | None = None


class Export(BaseAction[ExportParams]):
    input_type = ModelWeights

    def execute(self) -> dict[str, str]:
        _touch(self.params.counter_dir, "export")
        return {"exported": self.params.model + ".onnx"}


class SleepParams(BaseModel):
    seconds: float = 0.3
    label: str = "x"


class Sleep(BaseAction[SleepParams]):
    spans: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def execute(self) -> dict[str, str]:
        start = time.monotonic()
        deadline = start + self.params.seconds
        while time.monotonic() < deadline:
            self.ctx.check_cancelled()
            time.sleep(0.01)
        with Sleep.lock:
            Sleep.spans.append((self.params.label, start, time.monotonic()))
        return {self.params.label: "slept"}


class MeetParams(BaseModel):
    label: str = "x"
    meet: bool = True


class Meet(BaseAction[MeetParams]):
    """Waits at :attr:`barrier` (when ``meet``) until the other parties arrive, so nodes
    that finish at all ran at the same time; :attr:`log` records starts and ends in order."""

    barrier = threading.Barrier(2)
    log: list[str] = []

    def execute(self) -> dict[str, str]:
        Meet.log.append(f"{self.params.label} start")
        if self.params.meet:
            Meet.barrier.wait(timeout=30)
        Meet.log.append(f"{self.params.label} end")
        return {self.params.label: "met"}


class FlakyParams(BaseModel):
    fail_times: int = 2
    state_file: str


class Flaky(BaseAction[FlakyParams]):
    def execute(self) -> dict[str, int]:
        file = Path(self.params.state_file)
        seen = int(file.read_text()) if file.exists() else 0
        file.write_text(str(seen + 1))
        if seen < self.params.fail_times:
            raise ConnectionError(f"flaky failure {seen + 1}")
        return {"attempts_used": seen + 1}


class ItemParams(BaseModel):
    item: str
    counter_dir: str | None = None
    fail_on: str | None = None


class PerItem(BaseAction[ItemParams]):
    def execute(self) -> dict[str, str]:
        if self.params.item == self.params.fail_on:
            raise ValueError(f"cannot handle {self.params.item}")
        _touch(self.params.counter_dir, f"item-{self.params.item}")
        return {"name": self.params.item, "pid": str(os.getpid())}
