"""``convert``: validate the generated YOLO dataset and convert it to COCO, with
Hoist's own dataset action (fetch, validate, convert steps)."""

from __future__ import annotations

from pydantic import Field

from hoist.plugins.actions import DatasetAction, DatasetParams
from hoist.plugins.types import COCODataset, YOLODataset


class ConvertParams(DatasetParams):
    format: str | None = Field("yolo", description="The dataset's format")
    convert_to: str | None = Field("coco", description="Convert to this format")


class ConvertAction(DatasetAction[ConvertParams]):
    """Validate a YOLO dataset and convert it to COCO."""

    action_name = "convert"
    input_type = YOLODataset
    output_type = COCODataset
