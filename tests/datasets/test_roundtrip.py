"""Round trips A -> B -> A through every pair of formats reproduce the annotations up to
each format's documented precision; YOLO -> X -> YOLO reproduces the label files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hoist.datasets import FORMATS, convert, read_dataset, stats, write_dataset
from hoist.datasets.synthetic import generate
from hoist.errors import DatasetConversionError
from tests.datasets.compare import YOLO_TOL, assert_same

PAIRS = [(a, b) for a in FORMATS for b in FORMATS if a != b]
# VOC holds boxes only: polygons and keypoints through it are test_lossy_conversion's.
CASES = [
    (a, b, kind) for a, b in PAIRS for kind in ("boxes", "polygons", "keypoints")
    if kind == "boxes" or "voc" not in (a, b)
]  # fmt: skip


def _tol(*formats: str) -> float:
    return YOLO_TOL * (("yolo" in formats) + ("voc" in formats))


@pytest.mark.parametrize(("a", "b", "kind"), CASES)
def test_round_trip(tmp_path: Path, a: str, b: str, kind: str) -> None:
    original = generate(
        tmp_path / "gen", images=8, boxes=3, segmentation=kind == "polygons",
        keypoints=4 if kind == "keypoints" else 0,
    )  # fmt: skip
    write_dataset(original, tmp_path / "a", a)
    first = read_dataset(tmp_path / "a").materialize()
    assert_same(original, first, _tol(a))
    convert(tmp_path / "a", to=b, dest=tmp_path / "b")
    convert(tmp_path / "b", to=a, dest=tmp_path / "a2")
    back = read_dataset(tmp_path / "a2").materialize()
    assert_same(first, back, _tol(a, b))
    assert stats(tmp_path / "a2")["annotations"] == 24


@pytest.mark.parametrize("via", ["coco", "native"])
def test_yolo_labels_come_back_byte_for_byte(tmp_path: Path, via: str) -> None:
    write_dataset(generate(tmp_path / "gen", images=6, segmentation=True), tmp_path / "y", "yolo")
    convert(tmp_path / "y", to=via, dest=tmp_path / "mid")
    convert(tmp_path / "mid", to="yolo", dest=tmp_path / "y2")
    labels = sorted((tmp_path / "y" / "labels").rglob("*.txt"))
    assert labels
    for label in labels:
        again = tmp_path / "y2" / label.relative_to(tmp_path / "y")
        assert again.read_text() == label.read_text()


def test_yolo_layout_is_what_yolo_tools_expect(tmp_path: Path) -> None:
    write_dataset(generate(tmp_path / "gen", images=4), tmp_path / "y", "yolo")
    root = tmp_path / "y"
    text = (root / "data.yaml").read_text()
    assert "train: images/train" in text and "val: images/val" in text
    assert '  0: "class_0"' in text and "nc: 3" in text
    for image in (root / "images" / "train").iterdir():
        label = root / "labels" / "train" / (image.stem + ".txt")
        assert label.is_file()
        for line in label.read_text().splitlines():
            cls, *values = line.split()
            assert int(cls) in range(3) and len(values) == 4
            assert all(0.0 <= float(v) <= 1.0 and len(v.split(".")[1]) == 6 for v in values)


def test_images_are_placed_in_the_target_layout(tmp_path: Path) -> None:
    write_dataset(generate(tmp_path / "gen", images=4), tmp_path / "n", "native")
    convert(tmp_path / "n", to="coco", dest=tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "c" / "annotations").iterdir()) == [
        "instances_train.json", "instances_val.json",
    ]  # fmt: skip
    assert len(list((tmp_path / "c" / "images" / "val").iterdir())) == 2


@pytest.mark.parametrize("source", ["yolo", "coco", "native"])
@pytest.mark.parametrize("kind", ["polygons", "keypoints"])
def test_lossy_conversion_refused_then_allowed(tmp_path: Path, source: str, kind: str) -> None:
    original = generate(
        tmp_path / "gen", images=4, segmentation=kind == "polygons",
        keypoints=3 if kind == "keypoints" else 0,
    )  # fmt: skip
    write_dataset(original, tmp_path / "s", source)
    what = "segmentation (a box-only format)" if kind == "polygons" else "keypoints"
    with pytest.raises(DatasetConversionError, match=rf"would lose {re.escape(what)}"):
        convert(tmp_path / "s", to="voc", dest=tmp_path / "v")
    assert not (tmp_path / "v").exists()  # nothing half-written
    assert not list(tmp_path.glob(".v.partial-*"))
    convert(tmp_path / "s", to="voc", dest=tmp_path / "v", allow_lossy=True)
    boxes_only = read_dataset(tmp_path / "v").materialize()
    for image in original.images:
        for ann in image.annotations:
            ann.segmentation = ann.keypoints = None
    assert_same(original, boxes_only, _tol(source, "voc"))


def test_attributes_voc_cannot_hold_are_lossy(tmp_path: Path) -> None:
    original = generate(tmp_path / "gen", images=2)
    original.images[0].annotations[0].attributes = {"difficult": 1, "colour": "red"}
    write_dataset(original, tmp_path / "n", "native")
    with pytest.raises(DatasetConversionError, match=r"lose attributes \['colour'\]"):
        convert(tmp_path / "n", to="voc", dest=tmp_path / "v")
    convert(tmp_path / "n", to="voc", dest=tmp_path / "v", allow_lossy=True)
    back = read_dataset(tmp_path / "v").materialize()
    got = {i.file: i for i in back.images}[original.images[0].file]
    assert got.annotations[0].attributes == {"difficult": 1}


def test_annotations_only_conversion(tmp_path: Path) -> None:
    write_dataset(generate(tmp_path / "gen", images=4), tmp_path / "y", "yolo")
    convert(tmp_path / "y", to="coco", dest=tmp_path / "c", copy_images=False)
    assert not list((tmp_path / "c" / "images").rglob("*.png"))
    convert(tmp_path / "c", to="native", dest=tmp_path / "n", copy_images=False)
    assert_same(
        read_dataset(tmp_path / "y").materialize(), read_dataset(tmp_path / "c", "coco",
        on_issue=lambda issue: None).materialize(), YOLO_TOL,
    )  # fmt: skip
