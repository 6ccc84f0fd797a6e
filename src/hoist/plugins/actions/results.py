"""Standard result models of the category bases (the seed's ``schemas/results.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from hoist.datasets.ref import DatasetRef

__all__ = [
    "CheckpointInfo",
    "DatasetResult",
    "ExportResult",
    "FileOutcome",
    "InferenceResult",
    "TrainResult",
    "UploadResult",
]


class CheckpointInfo(BaseModel):
    """One saved checkpoint: its epoch, file, checksum and that epoch's metrics."""

    epoch: int
    path: str
    sha256: str
    metrics: dict[str, float] = Field(default_factory=dict)


class TrainResult(BaseModel):
    """What a training run produced.

    Attributes:
        weights_path: the final weights file.
        weights_sha256: its SHA-256 (hex).
        epochs_run: epochs trained in this run (a resumed run counts only its own).
        last_epoch: the last finished epoch (1-based).
        resumed_from: the checkpoint this run continued from, if any.
        metrics: the last epoch's metrics.
        best_metric, best_value, best_epoch: the best checkpoint by the named metric.
        best_path: that checkpoint's file.
        checkpoints: the checkpoints saved in this run.
    """

    weights_path: str
    weights_sha256: str
    epochs_run: int
    last_epoch: int
    resumed_from: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    best_metric: str | None = None
    best_value: float | None = None
    best_epoch: int | None = None
    best_path: str | None = None
    checkpoints: list[CheckpointInfo] = Field(default_factory=list)


class InferenceResult(BaseModel):
    """Predictions, in input order, and how they were made."""

    predictions: list[Any]
    count: int
    batches: int
    model_loaded: bool = Field(
        description="True when this run loaded the model; False when it was already warm"
    )


class ExportResult(BaseModel):
    """The exported file and what it holds."""

    path: str
    sha256: str
    size: int
    format: str
    records: int | None = None


class FileOutcome(BaseModel):
    """One file of an upload: ``uploaded``, ``skipped`` (same checksum there) or ``resumed``."""

    name: str
    status: str
    size: int
    sha256: str
    transferred: int = Field(0, description="Bytes written by this run")


class UploadResult(BaseModel):
    """Where the files went and what happened to each."""

    destination: str
    uploaded: int
    skipped: int
    resumed: int
    bytes: int
    files: list[FileOutcome] = Field(default_factory=list)


class DatasetResult(BaseModel):
    """The dataset after fetch, validate and convert.

    ``dataset`` is the final dataset as pipeline data (its folder and format, when the
    format is one `hoist.datasets` reads): a pipeline hands it to the next action's
    ``dataset`` param, whose ``input_type`` format it must match.
    """

    path: str
    format: str | None = None
    files: int
    bytes: int
    errors: list[str] = Field(default_factory=list)
    converted_to: str | None = None
    dataset: DatasetRef | None = None
