"""Hoist's own dataset format (the seed's "DM" role): lossless, streaming.

``dataset.jsonl``: a first line ``{"hoist_dataset": 1, "categories": [...],
"keypoint_count": k}``, then one JSON object per image: ``file``, ``width``, ``height``,
``split``, ``attributes`` and ``annotations`` (each ``category`` index, ``bbox``
``[x, y, w, h]`` in pixels, and optionally ``segmentation``, ``keypoints``,
``attributes``). Images live under ``images/<split>/``. Everything the internal model
holds is written, floats as their exact repr: a round trip is exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hoist.datasets.formats.base import IssueHandler, box_inside, place_image, raise_issue
from hoist.datasets.model import Annotation, DatasetStream, Image
from hoist.errors.datasets import DatasetValidationError

__all__ = ["NativeFormat"]

FILE = "dataset.jsonl"


class NativeFormat:
    """Hoist's lossless JSON Lines dataset."""

    name = "native"
    description = "Hoist JSON Lines (lossless; every field of the internal model)"
    segmentation = True
    keypoints = True
    attributes = True
    precision = "exact"

    def detect(self, path: Path) -> bool:
        """A folder with ``dataset.jsonl`` (or that file)."""
        return (path / FILE).is_file() or path.name == FILE

    def read(self, path: Path, on_issue: IssueHandler = raise_issue) -> DatasetStream:
        """Read the header line now, images one line at a time as iterated."""
        file = path if path.is_file() else path / FILE
        if not file.is_file():
            raise DatasetValidationError(f"a Hoist dataset needs {FILE}", path=str(path))
        with open(file) as f:
            header = _line(f.readline(), str(file), 1)
        if (
            header is None
            or header.get("hoist_dataset") != 1
            or not isinstance(header.get("categories"), list)
        ):
            raise DatasetValidationError(
                'the first line must be {"hoist_dataset": 1, "categories": [...]}',
                path=str(file), line=1,
            )  # fmt: skip
        cats = [str(c) for c in header["categories"]]
        kcount = int(header.get("keypoint_count") or 0)
        return DatasetStream(cats, self._images(file, len(cats), on_issue), kcount)

    def _images(self, file: Path, nc: int, on_issue: IssueHandler) -> Iterator[Image]:
        root = file.parent
        with open(file) as f:
            f.readline()
            for lineno, raw in enumerate(f, 2):
                if not raw.strip():
                    continue
                path, line = str(file), lineno
                try:
                    rec = json.loads(raw)
                    image = Image(
                        str(rec["file"]), int(rec["width"]), int(rec["height"]),
                        str(rec.get("split", "train")), [], None, dict(rec.get("attributes") or {}),
                    )  # fmt: skip
                except (ValueError, KeyError, TypeError) as exc:
                    on_issue(DatasetValidationError(
                        f"malformed image line ({type(exc).__name__}: {exc}); expected "
                        "an object with file, width, height", path=path, line=line))  # fmt: skip
                    continue
                image.path = root / "images" / image.split / image.file
                if not image.path.is_file():
                    on_issue(DatasetValidationError(
                        f"missing image file {image.path}", path=path, line=line))  # fmt: skip
                for i, a in enumerate(rec.get("annotations") or []):
                    try:
                        ann = Annotation(
                            int(a["category"]), tuple(float(v) for v in a["bbox"]),  # type: ignore[arg-type]
                            a.get("segmentation"), a.get("keypoints"),
                            dict(a.get("attributes") or {}),
                        )  # fmt: skip
                        if len(ann.bbox) != 4:
                            raise ValueError("bbox must have 4 numbers")
                    except (ValueError, KeyError, TypeError) as exc:
                        on_issue(DatasetValidationError(
                            f"malformed annotation {i}: {exc}", path=path, line=line))  # fmt: skip
                        continue
                    if not 0 <= ann.category < nc:
                        on_issue(DatasetValidationError(
                            f"annotation {i}: unknown class id {ann.category} "
                            f"({nc} categories)", path=path, line=line))  # fmt: skip
                        continue
                    if not box_inside(ann.bbox, image.width, image.height):
                        on_issue(DatasetValidationError(
                            f"annotation {i}: box outside its image "
                            f"({image.width}x{image.height}): {list(ann.bbox)}",
                            path=path, line=line))  # fmt: skip
                        continue
                    image.annotations.append(ann)
                yield image

    def write(
        self, stream: DatasetStream, dest: Path, *, allow_lossy: bool = False,
        copy_images: bool = True,
    ) -> int:  # fmt: skip
        """Write ``dataset.jsonl`` (and the images); returns the images written."""
        dest.mkdir(parents=True, exist_ok=True)
        count = 0
        with open(dest / FILE, "w") as f:
            header = {"hoist_dataset": 1, "categories": stream.categories,
                      "keypoint_count": stream.keypoint_count}  # fmt: skip
            f.write(json.dumps(header) + "\n")
            for image in stream.images:
                place_image(image, dest / "images" / image.split / image.file, copy_images)
                anns = []
                for a in image.annotations:
                    rec: dict[str, Any] = {"category": a.category, "bbox": list(a.bbox)}
                    if a.segmentation is not None:
                        rec["segmentation"] = a.segmentation
                    if a.keypoints is not None:
                        rec["keypoints"] = a.keypoints
                    if a.attributes:
                        rec["attributes"] = a.attributes
                    anns.append(rec)
                line: dict[str, Any] = {"file": image.file, "width": image.width,
                                        "height": image.height, "split": image.split}  # fmt: skip
                if image.attributes:
                    line["attributes"] = image.attributes
                line["annotations"] = anns
                f.write(json.dumps(line) + "\n")
                count += 1
        return count


def _line(raw: str, path: str, lineno: int) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise DatasetValidationError(f"not valid JSON: {exc}", path=path, line=lineno) from exc
    return value if isinstance(value, dict) else None
