"""The examples a model sees: each image of a split with its largest box (no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from hoist.datasets import DatasetRef
from plugin.shapes import Box, largest

__all__ = ["Sample", "samples"]


@dataclass(frozen=True)
class Sample:
    """One image file, its size, and the class and box of its largest shape."""

    path: str
    width: int
    height: int
    category: int
    box: Box


def samples(dataset: DatasetRef, split: str) -> tuple[list[str], list[Sample]]:
    """The dataset's category names and the samples of ``split`` (images without
    annotations are left out), sorted by file name."""
    stream = dataset.open()
    found = []
    for image in stream.images:
        if image.split != split or not image.annotations or image.path is None:
            continue
        category, box = largest([(a.category, a.bbox) for a in image.annotations])
        found.append(Sample(str(image.path), image.width, image.height, category, box))
    found.sort(key=lambda s: s.path)
    return list(stream.categories), found
