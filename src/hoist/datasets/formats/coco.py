"""COCO instances JSON: ``annotations/instances_<split>.json`` with images under
``images/<split>/`` (a single JSON file is read too, its images beside it or in
``images/``).

Boxes are ``[x, y, width, height]`` in absolute pixels, polygons flat lists, keypoints
``[x, y, v, ...]`` with ``num_keypoints``; extra per-annotation ``attributes`` (the CVAT
convention) are kept. Precision: floats are written as Python's shortest exact repr, so
a round trip through COCO is exact. Category ids are written 1..n in the dataset's order
(a COCO file's own ids are read in ascending order and renumbered). RLE segmentation is
not supported (refused naming the annotation). A COCO file is one JSON document: reading
holds it in memory; writing streams (one part file per split, joined at the end).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hoist.datasets.formats.base import IssueHandler, Lossy, box_inside, place_image, raise_issue
from hoist.datasets.model import Annotation, DatasetStream, Image
from hoist.errors.datasets import DatasetValidationError

__all__ = ["COCOFormat"]


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class COCOFormat:
    """COCO object-detection ("instances") annotations."""

    name = "coco"
    description = "COCO instances JSON (boxes, polygons, keypoints)"
    segmentation = True
    keypoints = True
    attributes = True
    precision = "exact (floats written as their shortest repr)"

    def detect(self, path: Path) -> bool:
        """A ``.json`` file, or a folder with ``annotations/*.json``."""
        return (path.is_file() and path.suffix == ".json") or any(
            (path / "annotations").glob("*.json")
        )

    def _files(self, path: Path) -> list[tuple[str, Path]]:
        files = [path] if path.is_file() else sorted((path / "annotations").glob("*.json"))
        out = []
        for f in files:
            m = re.match(r"(?:instances_|person_keypoints_)?(.+)$", f.stem)
            out.append((m.group(1) if m else f.stem, f))
        return out

    def read(self, path: Path, on_issue: IssueHandler = raise_issue) -> DatasetStream:
        """Read and check the categories now; images are yielded split by split."""
        files = self._files(path)
        if not files:
            raise DatasetValidationError("no COCO annotation JSON found", path=str(path))
        docs = [(split, f, _load(f)) for split, f in files]
        first = docs[0][2]
        cats = first.get("categories")
        if not isinstance(cats, list) or not all(isinstance(c, dict) and "id" in c for c in cats):
            raise DatasetValidationError(
                "'categories' must be a list of objects with 'id' and 'name'",
                path=str(docs[0][1]), json_path="categories",
            )  # fmt: skip
        cats = sorted(cats, key=lambda c: c["id"])
        names = [str(c.get("name", c["id"])) for c in cats]
        kcount = max((len(c.get("keypoints") or []) for c in cats), default=0)
        return DatasetStream(names, self._images(path, docs, cats, on_issue), kcount)

    def _images(
        self, path: Path, docs: list[tuple[str, Path, dict[str, Any]]],
        cats: list[dict[str, Any]], on_issue: IssueHandler,
    ) -> Iterator[Image]:  # fmt: skip
        for split, file, doc in docs:
            index = {c["id"]: i for i, c in enumerate(cats)}
            for i, c in enumerate(doc.get("categories") or []):
                if isinstance(c, dict) and c.get("id") not in index:
                    on_issue(DatasetValidationError(
                        "category not in the first file's categories",
                        path=str(file), json_path=f"categories[{i}]"))  # fmt: skip
            base = path.parent if path.is_file() else path
            candidates = [base / "images" / split, base / split, base / "images", base]
            images: dict[Any, Image] = {}
            order: list[Image] = []
            for i, im in enumerate(doc.get("images") or []):
                jp = f"images[{i}]"
                if not (isinstance(im, dict) and "id" in im and isinstance(im.get("file_name"), str)
                        and isinstance(im.get("width"), int) and isinstance(im.get("height"), int)
                        and im["width"] > 0 and im["height"] > 0):  # fmt: skip
                    on_issue(DatasetValidationError(
                        "an image needs 'id', 'file_name' and positive integer 'width', 'height'",
                        path=str(file), json_path=jp))  # fmt: skip
                    continue
                where = next((d / im["file_name"] for d in candidates
                              if (d / im["file_name"]).is_file()), None)  # fmt: skip
                if where is None:
                    on_issue(DatasetValidationError(
                        f"missing image file '{im['file_name']}' (looked in "
                        f"{', '.join(str(d) for d in candidates)})",
                        path=str(file), json_path=f"{jp}.file_name"))  # fmt: skip
                attrs = {k: v for k, v in im.items()
                         if k not in ("id", "file_name", "width", "height")}  # fmt: skip
                image = Image(im["file_name"], im["width"], im["height"], split, [], where, attrs)
                images[im["id"]] = image
                order.append(image)
            for i, a in enumerate(doc.get("annotations") or []):
                ann = _annotation(a, f"annotations[{i}]", str(file), images, index, on_issue)
                if ann is not None:
                    images[a["image_id"]].annotations.append(ann)
            yield from order

    def write(
        self, stream: DatasetStream, dest: Path, *, allow_lossy: bool = False,
        copy_images: bool = True,
    ) -> int:  # fmt: skip
        """Write one ``instances_<split>.json`` per split; returns the images written."""
        lossy = Lossy(self.name, allow_lossy, True, True, True)
        adir = dest / "annotations"
        adir.mkdir(parents=True, exist_ok=True)
        parts: dict[str, tuple[Any, Any, list[int]]] = {}
        image_id = ann_id = 0
        dumps = json.dumps
        for image in stream.images:
            if image.split not in parts:
                (dest / "images" / image.split).mkdir(parents=True, exist_ok=True)
                parts[image.split] = (
                    open(adir / f".{image.split}.images.part", "w"),  # noqa: SIM115
                    open(adir / f".{image.split}.annotations.part", "w"),  # noqa: SIM115
                    [0, 0],
                )
            fi, fa, counts = parts[image.split]
            place_image(image, dest / "images" / image.split / image.file, copy_images)
            image_id += 1
            rec: dict[str, Any] = {"id": image_id, "file_name": image.file,
                                   "width": image.width, "height": image.height}  # fmt: skip
            rec.update(image.attributes)
            fi.write(("," if counts[0] else "") + dumps(rec))
            counts[0] += 1
            for ann in image.annotations:
                ann = lossy.fit(ann, image)
                ann_id += 1
                arec: dict[str, Any] = {
                    "id": ann_id, "image_id": image_id, "category_id": ann.category + 1,
                    "bbox": list(ann.bbox), "area": ann.area, "iscrowd": 0,
                    "segmentation": ann.segmentation or [],
                }  # fmt: skip
                if ann.keypoints is not None:
                    arec["keypoints"] = ann.keypoints
                    arec["num_keypoints"] = sum(1 for v in ann.keypoints[2::3] if v > 0)
                if ann.attributes:
                    arec["attributes"] = ann.attributes
                fa.write(("," if counts[1] else "") + dumps(arec))
                counts[1] += 1
        cats = []
        for i, n in enumerate(stream.categories):
            c: dict[str, Any] = {"id": i + 1, "name": n, "supercategory": ""}
            if stream.keypoint_count:
                c["keypoints"] = [f"k{j}" for j in range(stream.keypoint_count)]
                c["skeleton"] = []
            cats.append(c)
        for split, (fi, fa, _) in parts.items():
            fi.close()
            fa.close()
            with open(adir / f"instances_{split}.json", "w") as out:
                out.write('{"info": {"description": "written by Hoist"}, "licenses": [], ')
                out.write('"categories": ' + dumps(cats) + ', "images": [')
                for part in (fi.name, fa.name):
                    with open(part) as src:
                        shutil.copyfileobj(src, out)
                    if part == fi.name:
                        out.write('], "annotations": [')
                    Path(part).unlink()
                out.write("]}\n")
        return image_id


def _load(file: Path) -> dict[str, Any]:
    try:
        with open(file) as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise DatasetValidationError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path=str(file), line=exc.lineno
        ) from exc
    if not isinstance(doc, dict):
        raise DatasetValidationError("a COCO file is a JSON object", path=str(file), json_path="$")
    return doc


def _annotation(
    a: Any, jp: str, file: str, images: dict[Any, Image], index: dict[Any, int],
    on_issue: IssueHandler,
) -> Annotation | None:  # fmt: skip
    def bad(rule: str, at: str = "") -> None:
        on_issue(DatasetValidationError(rule, path=file, json_path=jp + at))

    if not isinstance(a, dict):
        bad("an annotation is a JSON object")
        return None
    image = images.get(a.get("image_id"))
    if image is None:
        bad(f"unknown image id {a.get('image_id')!r}", ".image_id")
        return None
    if a.get("category_id") not in index:
        bad(f"unknown category id {a.get('category_id')!r} (known: {sorted(index)})",
            ".category_id")  # fmt: skip
        return None
    bbox = a.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_num(v) for v in bbox)):
        bad("'bbox' must be 4 numbers [x, y, width, height]", ".bbox")
        return None
    box = (bbox[0], bbox[1], bbox[2], bbox[3])
    if not box_inside(box, image.width, image.height):
        bad(f"box outside its image ({image.width}x{image.height}): {bbox}", ".bbox")
        return None
    seg = a.get("segmentation") or None
    if seg is not None:
        if isinstance(seg, dict):
            bad("RLE segmentation is not supported (polygons only)", ".segmentation")
            return None
        if not (isinstance(seg, list) and all(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(_num(v) for v in p)
            for p in seg
        )):  # fmt: skip
            bad("'segmentation' must be a list of polygons [x1, y1, x2, y2, x3, y3, ...]",
                ".segmentation")  # fmt: skip
            return None
    kps = a.get("keypoints")
    if kps is not None and not (isinstance(kps, list) and len(kps) % 3 == 0
                                and all(_num(v) for v in kps)):  # fmt: skip
        bad("'keypoints' must be [x, y, v] triples", ".keypoints")
        return None
    attrs = a.get("attributes") or {}
    return Annotation(index[a["category_id"]], box, seg, kps, dict(attrs))
