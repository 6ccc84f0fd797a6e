"""Pascal VOC: one XML per image under ``Annotations/``, images under ``JPEGImages/``,
splits as ``ImageSets/Main/<split>.txt`` (image stems), and ``labels.txt`` (one class
name a line; Hoist writes it, and reads the names from the XML files when it is absent).

Boxes only: ``bndbox`` is ``xmin ymin xmax ymax`` in VOC's 1-based inclusive pixels
(a box at ``x`` of width ``w`` is ``xmin = x + 1``, ``xmax = x + w``). The object fields
``difficult``, ``truncated``, ``occluded`` and ``pose`` are the annotation's attributes.
Precision: coordinates are written with up to 6 decimals (integers as integers), so a
round trip is within 1e-6 px. Image files share one folder: names are unique across
splits. Errors name the XML file and the element (``object[2]/bndbox``). Reading streams
(one XML at a time, split lists read line by line).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

from hoist.datasets.formats.base import IssueHandler, Lossy, box_inside, place_image, raise_issue
from hoist.datasets.model import Annotation, DatasetStream, Image
from hoist.errors.datasets import DatasetValidationError

__all__ = ["VOCFormat"]

OBJECT_FIELDS = ("pose", "truncated", "difficult", "occluded")


def _fmt(v: float) -> str:
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


class VOCFormat:
    """Pascal VOC XML annotations (boxes)."""

    name = "voc"
    description = "Pascal VOC XML (boxes; difficult/truncated/occluded/pose attributes)"
    segmentation = False
    keypoints = False
    attributes = True
    precision = "1e-6 px (coordinates with up to 6 decimals)"

    def detect(self, path: Path) -> bool:
        """A folder with an ``Annotations`` folder."""
        return (path / "Annotations").is_dir()

    def read(self, path: Path, on_issue: IssueHandler = raise_issue) -> DatasetStream:
        """Read the class names now (``labels.txt``, else every XML's object names);
        images are parsed one XML at a time as iterated."""
        adir = path / "Annotations"
        if not adir.is_dir():
            raise DatasetValidationError(
                "a VOC dataset needs an Annotations folder", path=str(path)
            )
        labels = path / "labels.txt"
        if labels.is_file():
            names = [n.strip() for n in labels.read_text().splitlines() if n.strip()]
        else:
            found: set[str] = set()
            for entry in os.scandir(adir):
                if entry.name.endswith(".xml"):
                    try:
                        root = ET.parse(entry.path).getroot()
                    except ET.ParseError:
                        continue  # reported when the images are read
                    found.update((o.findtext("name") or "").strip() for o in root.iter("object"))
            names = sorted(found - {""})
        return DatasetStream(names, self._images(path, names, on_issue))

    def _images(self, path: Path, names: list[str], on_issue: IssueHandler) -> Iterator[Image]:
        index = {n: i for i, n in enumerate(names)}
        root = str(path)
        sets = path / "ImageSets" / "Main"
        split_files = sorted(sets.glob("*.txt")) if sets.is_dir() else []
        if len(split_files) > 1:
            split_files = [f for f in split_files if f.stem != "trainval"]
        for split_file in split_files:
            with open(split_file) as lines:  # one stem at a time
                for raw in lines:
                    if raw.strip():
                        stem = raw.split()[0]
                        xml = os.path.join(root, "Annotations", stem + ".xml")
                        image = _parse(xml, split_file.stem, root, index, on_issue)
                        if image is not None:
                            yield image
        if not split_files:
            with os.scandir(path / "Annotations") as it:
                for entry in it:
                    if entry.name.endswith(".xml"):
                        image = _parse(entry.path, "train", root, index, on_issue)
                        if image is not None:
                            yield image

    def write(
        self, stream: DatasetStream, dest: Path, *, allow_lossy: bool = False,
        copy_images: bool = True,
    ) -> int:  # fmt: skip
        """Write one XML per image, the split lists and ``labels.txt``."""
        lossy = Lossy(self.name, allow_lossy, False, False, True, attribute_keys=OBJECT_FIELDS)
        for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
            (dest / sub).mkdir(parents=True, exist_ok=True)
        split_files: dict[str, TextIO] = {}
        dest_s = str(dest)
        count = 0
        try:
            for image in stream.images:
                f = split_files.get(image.split)
                if f is None:
                    f = split_files[image.split] = open(  # noqa: SIM115
                        dest / "ImageSets" / "Main" / f"{image.split}.txt", "w"
                    )
                stem = os.path.splitext(image.file)[0]
                f.write(stem + "\n")
                place_image(image, os.path.join(dest_s, "JPEGImages", image.file), copy_images)
                objects = []
                for ann in image.annotations:
                    ann = lossy.fit(ann, image)
                    x, y, w, h = ann.bbox
                    fields = "".join(
                        f"<{k}>{escape(str(ann.attributes[k]))}</{k}>"
                        for k in OBJECT_FIELDS if k in ann.attributes
                    )  # fmt: skip
                    objects.append(
                        f"  <object><name>{escape(stream.categories[ann.category])}</name>{fields}"
                        f"<bndbox><xmin>{_fmt(x + 1)}</xmin><ymin>{_fmt(y + 1)}</ymin>"
                        f"<xmax>{_fmt(x + w)}</xmax><ymax>{_fmt(y + h)}</ymax></bndbox></object>\n"
                    )
                xml = (
                    f"<annotation>\n  <folder>JPEGImages</folder>\n"
                    f"  <filename>{escape(image.file)}</filename>\n"
                    f"  <size><width>{image.width}</width><height>{image.height}</height>"
                    f"<depth>3</depth></size>\n  <segmented>0</segmented>\n"
                    + "".join(objects) + "</annotation>\n"
                )  # fmt: skip
                with open(os.path.join(dest_s, "Annotations", stem + ".xml"), "w") as out:
                    out.write(xml)
                count += 1
        finally:
            for f in split_files.values():
                f.close()
        (dest / "labels.txt").write_text("".join(n + "\n" for n in stream.categories))
        return count


def _parse(
    xml: str, split: str, root: str, index: dict[str, int], on_issue: IssueHandler
) -> Image | None:
    def bad(rule: str, at: str | None = None, line: int | None = None) -> None:
        on_issue(DatasetValidationError(rule, path=xml, json_path=at, line=line))

    if not os.path.isfile(xml):
        bad("missing annotation file listed in the split's ImageSets file")
        return None
    try:
        tree = ET.parse(xml).getroot()
    except ET.ParseError as exc:
        bad(f"not valid XML: {exc}", line=exc.position[0])
        return None
    file = (tree.findtext("filename") or "").strip()
    try:
        width = int(float(tree.findtext("size/width") or ""))
        height = int(float(tree.findtext("size/height") or ""))
    except ValueError:
        bad("<size> needs numeric <width> and <height>", "size")
        return None
    if not file:
        bad("<filename> is missing", "filename")
        return None
    image_path = os.path.join(root, "JPEGImages", file)
    if not os.path.isfile(image_path):
        bad(f"missing image file {image_path}", "filename")
    image = Image(file, width, height, split, [], image_path)
    for i, obj in enumerate(tree.iter("object"), 1):
        at = f"object[{i}]"
        name = (obj.findtext("name") or "").strip()
        if name not in index:
            bad(f"unknown class '{name}' (known: {', '.join(index)})", f"{at}/name")
            continue
        try:
            xmin, ymin, xmax, ymax = (float(obj.findtext(f"bndbox/{k}") or "")
                                      for k in ("xmin", "ymin", "xmax", "ymax"))  # fmt: skip
        except ValueError:
            bad("<bndbox> needs numeric xmin, ymin, xmax, ymax", f"{at}/bndbox")
            continue
        box = (xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1)
        if not box_inside(box, width, height):
            bad(f"box outside its image ({width}x{height}): "
                f"[{xmin}, {ymin}, {xmax}, {ymax}]", f"{at}/bndbox")  # fmt: skip
            continue
        attrs: dict[str, object] = {}
        for k in OBJECT_FIELDS:
            v = obj.findtext(k)
            if v is not None:
                v = v.strip()
                attrs[k] = int(v) if v.lstrip("-").isdigit() else v
        image.annotations.append(Annotation(index[name], box, attributes=attrs))
    return image
