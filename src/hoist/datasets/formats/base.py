"""What every format module shares: the format's interface, how readers report a broken
rule, image placement in a written dataset, and the lossy-conversion check."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hoist.datasets.model import Annotation, DatasetStream, Image
from hoist.errors.datasets import DatasetConversionError, DatasetValidationError

__all__ = [
    "MISSING_IMAGE",
    "Format",
    "IssueHandler",
    "Lossy",
    "box_inside",
    "place_image",
    "raise_issue",
]

MISSING_IMAGE = "missing image file"
"""How every reader's rule about an absent image file begins."""

IssueHandler = Callable[[DatasetValidationError], None]
"""Called with each broken rule a reader finds: the default raises it; ``validate``
collects them and reading goes on past the offending line or element."""


def raise_issue(issue: DatasetValidationError) -> None:
    """The default issue handler: stop at the first broken rule."""
    raise issue


class Format(Protocol):
    """A dataset format: detection of a folder in it, a streaming reader and a writer."""

    name: str
    description: str
    segmentation: bool
    keypoints: bool
    attributes: bool
    precision: str

    def detect(self, path: Path) -> bool: ...

    def read(self, path: Path, on_issue: IssueHandler = raise_issue) -> DatasetStream: ...

    def write(
        self, stream: DatasetStream, dest: Path, *, allow_lossy: bool = False,
        copy_images: bool = True,
    ) -> int: ...  # fmt: skip


def box_inside(bbox: tuple[float, float, float, float], width: int, height: int) -> bool:
    """True when the box lies within the image (a tolerance of a millionth of the image
    for the rounding of normalised formats)."""
    x, y, w, h = bbox
    tx, ty = width * 1e-6 + 1e-9, height * 1e-6 + 1e-9
    return (
        w >= -tx and h >= -ty and x >= -tx and y >= -ty
        and x + w <= width + tx and y + h <= height + ty
    )  # fmt: skip


def place_image(image: Image, target: str | Path, copy_images: bool) -> None:
    """Put ``image``'s file at ``target``: a hard link when the file system allows it
    (no copy for a conversion on one disk), else a copy."""
    if not copy_images or image.path is None or os.path.exists(target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(image.path, target)
    except OSError:
        shutil.copy2(image.path, target)


@dataclass(slots=True)
class Lossy:
    """The lossy-conversion check of one writer: what its format cannot hold is refused
    (naming the image and what would be lost) unless ``allow`` is set, when it is dropped."""

    format: str
    allow: bool
    segmentation: bool
    keypoints: bool
    attributes: bool
    multi_polygon: bool = True
    attribute_keys: tuple[str, ...] | None = None  # the attributes it holds (None: any)

    def fit(self, ann: Annotation, image: Image) -> Annotation:
        """``ann`` as this format can hold it (the same object when nothing is lost)."""
        lost = []
        if ann.segmentation and not self.segmentation:
            lost.append("segmentation (a box-only format)")
        elif ann.segmentation and len(ann.segmentation) > 1 and not self.multi_polygon:
            lost.append("all but the first polygon of a multi-polygon segmentation")
        if ann.keypoints and not self.keypoints:
            lost.append("keypoints")
        kept = ann.attributes
        if ann.attributes and not self.attributes:
            kept = {}
        elif ann.attributes and self.attribute_keys is not None:
            kept = {k: v for k, v in ann.attributes.items() if k in self.attribute_keys}
        if len(kept) != len(ann.attributes):
            lost.append(f"attributes {sorted(set(ann.attributes) - set(kept))}")
        if not lost:
            return ann
        if not self.allow:
            raise DatasetConversionError(
                f"converting to {self.format} would lose {', '.join(lost)} of an annotation "
                f"of image '{image.file}' ({image.split}); pass allow_lossy=True "
                "(--allow-lossy) to drop what the format cannot hold"
            )
        seg = ann.segmentation if self.segmentation else None
        if seg and not self.multi_polygon:
            seg = seg[:1]
        return Annotation(
            ann.category, ann.bbox, seg,
            ann.keypoints if self.keypoints else None,
            kept,
        )  # fmt: skip
