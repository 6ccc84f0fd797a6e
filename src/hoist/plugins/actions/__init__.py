"""Category bases: what a training, inference, export, upload or dataset plugin builds on.

Each base is a :class:`~hoist.plugins.action.BaseAction` with standard params (a
``*Params`` model to subclass), a typed step context reachable as ``self.context``
while it runs, default steps (``setup_steps``) a plugin can replace or extend, and a
standard result model (:mod:`hoist.plugins.actions.results`).
"""

from hoist.plugins.actions.dataset import DatasetAction, DatasetContext, DatasetParams
from hoist.plugins.actions.export import BaseExportAction, ExportContext, ExportParams
from hoist.plugins.actions.inference import (
    BaseInferenceAction,
    InferenceContext,
    InferenceParams,
    clear_model_cache,
)
from hoist.plugins.actions.results import (
    CheckpointInfo,
    DatasetResult,
    ExportResult,
    FileOutcome,
    InferenceResult,
    TrainResult,
    UploadResult,
)
from hoist.plugins.actions.train import BaseTrainAction, TrainContext, TrainParams
from hoist.plugins.actions.upload import BaseUploadAction, UploadContext, UploadParams

__all__ = [
    "BaseExportAction",
    "BaseInferenceAction",
    "BaseTrainAction",
    "BaseUploadAction",
    "CheckpointInfo",
    "DatasetAction",
    "DatasetContext",
    "DatasetParams",
    "DatasetResult",
    "ExportContext",
    "ExportParams",
    "ExportResult",
    "FileOutcome",
    "InferenceContext",
    "InferenceParams",
    "InferenceResult",
    "TrainContext",
    "TrainParams",
    "TrainResult",
    "UploadContext",
    "UploadParams",
    "UploadResult",
    "clear_model_cache",
]
