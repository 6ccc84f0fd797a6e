"""The internal annotation model every format is read into and written from.

Slotted dataclasses rather than pydantic models: a converter streams millions of boxes
through these objects, and a slotted dataclass is created several times faster and is
smaller than a validated model. Validation is the readers' job (each names the file and
line or JSON path of a problem), so the model itself does not re-check.

Coordinates are absolute pixels: ``bbox`` is ``(x, y, width, height)`` from the image's
top-left corner, a polygon is a flat ``[x1, y1, x2, y2, ...]`` list, keypoints are flat
``[x1, y1, v1, ...]`` triples (``v`` as in COCO: 0 not labelled, 1 hidden, 2 visible).
Categories are indices into ``categories`` (names), in a fixed order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Annotation", "Dataset", "DatasetStream", "Image", "polygon_area"]


@dataclass(slots=True)
class Annotation:
    """One labelled object of an image."""

    category: int
    bbox: tuple[float, float, float, float]
    segmentation: list[list[float]] | None = None
    keypoints: list[float] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def area(self) -> float:
        """The polygon area when segmented (as COCO computes it), else the box's."""
        if self.segmentation:
            return sum(polygon_area(p) for p in self.segmentation)
        return self.bbox[2] * self.bbox[3]


@dataclass(slots=True)
class Image:
    """One image: its file (relative to the dataset's image folder of its split), size,
    split and annotations."""

    file: str
    width: int
    height: int
    split: str = "train"
    annotations: list[Annotation] = field(default_factory=list)
    # Where the image file is, when read from disk (a str on the streaming readers' hot
    # path: pathlib interns every part, which grows with the number of files).
    path: str | Path | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DatasetStream:
    """A dataset as its categories and an iterator of images (read once): what readers
    give and writers take, so a conversion never holds the whole dataset."""

    categories: list[str]
    images: Iterable[Image]
    keypoint_count: int = 0

    def materialize(self) -> Dataset:
        """Read every image into an in-memory :class:`Dataset`."""
        return Dataset(list(self.categories), list(self.images), self.keypoint_count)


@dataclass(slots=True)
class Dataset:
    """A whole dataset in memory (tests, small datasets); ``stream()`` to write it."""

    categories: list[str]
    images: list[Image] = field(default_factory=list)
    keypoint_count: int = 0

    def stream(self) -> DatasetStream:
        """This dataset as a stream (images iterated in order)."""
        return DatasetStream(list(self.categories), iter(self.images), self.keypoint_count)

    def __iter__(self) -> Iterator[Image]:
        return iter(self.images)


def polygon_area(flat: list[float]) -> float:
    """Area of a simple polygon given as ``[x1, y1, x2, y2, ...]`` (shoelace formula)."""
    xs, ys = flat[0::2], flat[1::2]
    n = len(xs)
    s = 0.0
    for i in range(n):
        j = (i + 1) % n
        s += xs[i] * ys[j] - xs[j] * ys[i]
    return abs(s) / 2.0
