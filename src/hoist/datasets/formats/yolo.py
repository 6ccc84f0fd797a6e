"""YOLO (Ultralytics layout): ``data.yaml`` with ``names`` and one entry per split
(``train: images/train``), images under ``images/<split>/`` and one label file per image
under ``labels/<split>/<stem>.txt``.

A label line is ``class cx cy w h`` (detection), ``class x1 y1 x2 y2 ...`` (segmentation,
one polygon; its box is the polygon's bounds) or, when ``data.yaml`` has
``kpt_shape: [k, 3]``, ``class cx cy w h`` followed by ``k`` keypoint triples (pose; a
pose dataset has no polygons, and an annotation without keypoints is written with
``k`` unlabelled ``0 0 0`` triples).
Coordinates are normalised by the image's size.

Precision: normalised values are written with 6 decimals, so a coordinate comes back
within ``0.5e-6 * image size`` pixels (0.002 px on a 4000 px image); a YOLO → X → YOLO
round trip reproduces the label files exactly. Reading streams one image at a time, in
directory order, holding no list of the folder (memory independent of its size).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hoist.datasets.formats.base import IssueHandler, Lossy, box_inside, place_image, raise_issue
from hoist.datasets.imagesize import IMAGE_SUFFIXES, image_size
from hoist.datasets.model import Annotation, DatasetStream, Image
from hoist.errors.datasets import DatasetValidationError

__all__ = ["DECIMALS", "YOLOFormat"]

DECIMALS = 6
SPLITS = ("train", "val", "test")


class YOLOFormat:
    """YOLO detection, segmentation and pose labels with a ``data.yaml``."""

    name = "yolo"
    description = "YOLO txt labels + data.yaml (detection, segmentation, pose)"
    segmentation = True
    keypoints = True
    attributes = False
    precision = f"normalised coordinates with {DECIMALS} decimals"

    def detect(self, path: Path) -> bool:
        """A folder with a ``data.yaml`` (or that file itself)."""
        return (path / "data.yaml").is_file() or path.name in ("data.yaml", "data.yml")

    def read(self, path: Path, on_issue: IssueHandler = raise_issue) -> DatasetStream:
        """Read ``data.yaml`` now; images and labels are read as they are iterated."""
        spec = path if path.is_file() else path / "data.yaml"
        if not spec.is_file():
            raise DatasetValidationError("a YOLO dataset needs a data.yaml", path=str(path))
        data = _load_yaml(spec)
        if not isinstance(data, dict) or "names" not in data:
            raise DatasetValidationError("data.yaml needs 'names'", path=str(spec))
        names = data["names"]
        if isinstance(names, dict):
            if sorted(names) != list(range(len(names))):
                raise DatasetValidationError(
                    "'names' keys must be the class ids 0..n-1", path=str(spec)
                )
            names = [names[i] for i in range(len(names))]
        if not isinstance(names, list):
            raise DatasetValidationError("'names' must be a list or a mapping", path=str(spec))
        kpt = data.get("kpt_shape")
        kcount = int(kpt[0]) if isinstance(kpt, list) and kpt else 0
        root = spec.parent / str(data.get("path") or ".")  # relative: to data.yaml
        splits = [(s, root / str(data[s])) for s in SPLITS if isinstance(data.get(s), str)]
        categories = [str(n) for n in names]
        return DatasetStream(categories, self._images(splits, len(names), kcount, on_issue), kcount)

    def _images(
        self, splits: list[tuple[str, Path]], nc: int, kcount: int, on_issue: IssueHandler
    ) -> Iterator[Image]:
        for split, images_dir in splits:
            labels_dir = _labels_dir(images_dir)
            matched = 0
            # Directory order, never a list of the folder: memory does not grow with it.
            if not images_dir.is_dir():
                on_issue(DatasetValidationError(
                    f"the {split} image folder {images_dir} does not exist",
                    path=str(images_dir)))  # fmt: skip
                continue
            images_s, labels_s = str(images_dir), str(labels_dir)
            with os.scandir(images_dir) as it:
                for entry in it:
                    name = entry.name
                    if not name.lower().endswith(IMAGE_SUFFIXES) or not entry.is_file():
                        continue
                    image_path = os.path.join(images_s, name)
                    size = image_size(image_path)
                    if size is None:
                        on_issue(DatasetValidationError("unreadable image header", path=image_path))
                        continue
                    image = Image(name, size[0], size[1], split, [], image_path)
                    label = os.path.join(labels_s, os.path.splitext(name)[0] + ".txt")
                    if os.path.isfile(label):
                        matched += 1
                        image.annotations = _parse_labels(label, image, nc, kcount, on_issue)
                    yield image
            _orphans(labels_dir, images_dir, matched, on_issue)

    def write(
        self, stream: DatasetStream, dest: Path, *, allow_lossy: bool = False,
        copy_images: bool = True,
    ) -> int:  # fmt: skip
        """Write ``stream`` under ``dest``; returns the number of images written."""
        kcount = stream.keypoint_count
        # A pose dataset (kpt_shape) holds boxes with keypoints, a segment dataset polygons.
        lossy = Lossy(self.name, allow_lossy, not kcount, bool(kcount), False, multi_polygon=False)
        splits: list[str] = []
        count = 0
        dest_s = str(dest)
        fmt = f"{{:.{DECIMALS}f}}".format
        for image in stream.images:
            if image.split not in splits:
                splits.append(image.split)
                (dest / "labels" / image.split).mkdir(parents=True, exist_ok=True)
                (dest / "images" / image.split).mkdir(parents=True, exist_ok=True)
            place_image(image, os.path.join(dest_s, "images", image.split, image.file), copy_images)
            lines = []
            w, h = image.width, image.height
            for ann in image.annotations:
                ann = lossy.fit(ann, image)
                if ann.segmentation:
                    poly = ann.segmentation[0]
                    coords = " ".join(fmt(v / (w if i % 2 == 0 else h)) for i, v in enumerate(poly))
                    lines.append(f"{ann.category} {coords}")
                    continue
                x, y, bw, bh = ann.bbox
                cx, cy = fmt((x + bw / 2) / w), fmt((y + bh / 2) / h)
                line = f"{ann.category} {cx} {cy} {fmt(bw / w)} {fmt(bh / h)}"
                if kcount:
                    kp = ann.keypoints or [0.0] * (3 * kcount)
                    line += " " + " ".join(
                        fmt(kp[i] / w) if i % 3 == 0 else fmt(kp[i] / h) if i % 3 == 1
                        else str(int(kp[i])) for i in range(len(kp))
                    )  # fmt: skip
                lines.append(line)
            stem = os.path.splitext(image.file)[0]
            text = "\n".join(lines) + ("\n" if lines else "")
            with open(os.path.join(dest_s, "labels", image.split, stem + ".txt"), "w") as f:
                f.write(text)
            count += 1
        data: dict[str, Any] = {"path": "."}
        for split in splits:
            data[split] = f"images/{split}"
        data["nc"] = len(stream.categories)
        data["names"] = dict(enumerate(stream.categories))
        if kcount:
            data["kpt_shape"] = [kcount, 3]
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "data.yaml").write_text(_dump_yaml(data))
        return count


def _load_yaml(spec: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="safe", pure=True).load(spec.read_text()) or {}
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise DatasetValidationError(
            f"not valid YAML: {exc.problem}", path=str(spec), line=line
        ) from None
    except YAMLError as exc:
        raise DatasetValidationError(f"not valid YAML: {exc}", path=str(spec)) from None


def _dump_yaml(data: dict[str, Any]) -> str:
    """``data.yaml`` as Ultralytics writes it (JSON strings are YAML strings)."""
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{key}:")
            out.extend(f"  {k}: {json.dumps(v)}" for k, v in value.items())
        else:
            out.append(f"{key}: {json.dumps(value) if not isinstance(value, str) else value}")
    return "\n".join(out) + "\n"


def _orphans(labels_dir: Path, images_dir: Path, matched: int, on_issue: IssueHandler) -> None:
    """Report label files without an image: counted first (one pass, no list), and only
    when the count differs from the labels read, looked up one by one."""
    if not labels_dir.is_dir():
        return
    with os.scandir(labels_dir) as it:
        total = sum(1 for e in it if e.name.endswith(".txt"))
    if total == matched:
        return
    with os.scandir(labels_dir) as it:
        for entry in it:
            stem, ext = os.path.splitext(entry.name)
            if ext != ".txt":
                continue
            if not any(
                (images_dir / (stem + sfx)).is_file()
                for suffix in IMAGE_SUFFIXES for sfx in (suffix, suffix.upper())
            ):  # fmt: skip
                on_issue(DatasetValidationError(
                    f"missing image file: no image named '{stem}.*' in {images_dir}",
                    path=entry.path,
                ))  # fmt: skip


def _labels_dir(images_dir: Path) -> Path:
    """The label folder YOLO tools pair with an image folder: the last ``images`` part
    replaced by ``labels``."""
    parts = list(images_dir.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts)
    return images_dir


def _parse_labels(
    label: str, image: Image, nc: int, kcount: int, on_issue: IssueHandler
) -> list[Annotation]:
    out: list[Annotation] = []
    w, h = image.width, image.height
    with open(label) as f:
        for lineno, raw in enumerate(f, 1):
            parts = raw.split()
            if not parts:
                continue

            def bad(rule: str, lineno: int = lineno) -> None:
                on_issue(DatasetValidationError(rule, path=label, line=lineno))

            try:
                cls = int(parts[0])
                values = [float(p) for p in parts[1:]]
            except ValueError:
                bad(f"malformed line: expected 'class x y ...' numbers, got {raw.strip()!r}")
                continue
            if not 0 <= cls < nc:
                bad(f"unknown class id {cls} (data.yaml names {nc} classes: 0..{nc - 1})")
                continue
            n = len(values)
            if n == 4 or (kcount and n == 4 + 3 * kcount):
                cx, cy, bw, bh = values[:4]
                box = ((cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h)
                kps = None
                if n > 4:
                    kv = values[4:]
                    kps = [kv[i] * w if i % 3 == 0 else kv[i] * h if i % 3 == 1 else kv[i]
                           for i in range(len(kv))]  # fmt: skip
                ann = Annotation(cls, box, None, kps)
            elif n >= 6 and n % 2 == 0:
                poly = [v * w if i % 2 == 0 else v * h for i, v in enumerate(values)]
                xs, ys = poly[0::2], poly[1::2]
                box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
                ann = Annotation(cls, box, [poly])
            else:
                want = "4 box values" + (f" (+{3 * kcount} keypoint values)" if kcount else "")
                bad(f"malformed line: {n} values after the class; expected {want} "
                    "or an even number >= 6 (a polygon)")  # fmt: skip
                continue
            if not box_inside(ann.bbox, w, h):
                bad(f"box outside its image ({w}x{h}): x={ann.bbox[0]:.2f} y={ann.bbox[1]:.2f} "
                    f"w={ann.bbox[2]:.2f} h={ann.bbox[3]:.2f}")  # fmt: skip
                continue
            out.append(ann)
    return out
