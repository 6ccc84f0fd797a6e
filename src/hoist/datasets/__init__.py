"""Datasets: one internal annotation model and readers/writers for YOLO, COCO, Pascal
VOC and Hoist's own JSON Lines format, with streaming conversion between any two.

A leaf package: it knows files and formats, never runs, plugins or executors.

    from hoist.datasets import convert, validate
    convert("data/yolo", to="coco", dest="data/coco")
"""

from __future__ import annotations

from hoist.datasets.convert import (
    ConvertResult,
    ValidationReport,
    convert,
    detect_format,
    get_format,
    read_dataset,
    stats,
    validate,
    write_dataset,
)
from hoist.datasets.formats import FORMATS
from hoist.datasets.model import Annotation, Dataset, DatasetStream, Image
from hoist.datasets.ref import DatasetRef

__all__ = [
    "FORMATS",
    "Annotation",
    "ConvertResult",
    "Dataset",
    "DatasetRef",
    "DatasetStream",
    "Image",
    "ValidationReport",
    "convert",
    "detect_format",
    "get_format",
    "read_dataset",
    "stats",
    "validate",
    "write_dataset",
]
