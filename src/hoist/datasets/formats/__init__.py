"""Dataset formats, each a reader and a writer of the internal model (see
:mod:`hoist.datasets.model`), keyed by name."""

from __future__ import annotations

from hoist.datasets.formats.base import Format
from hoist.datasets.formats.coco import COCOFormat
from hoist.datasets.formats.native import NativeFormat
from hoist.datasets.formats.voc import VOCFormat
from hoist.datasets.formats.yolo import YOLOFormat

__all__ = ["FORMATS", "COCOFormat", "Format", "NativeFormat", "VOCFormat", "YOLOFormat"]

FORMATS: dict[str, Format] = {
    "yolo": YOLOFormat(),
    "coco": COCOFormat(),
    "native": NativeFormat(),
    "voc": VOCFormat(),
}
