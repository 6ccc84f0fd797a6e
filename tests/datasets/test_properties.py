"""Property-based round trips (hypothesis): generated datasets written in each format and
read back, and converted A -> B -> A, keep their annotations within the format's precision."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hoist.datasets import Annotation, Dataset, Image, convert, read_dataset, write_dataset
from hoist.datasets.imagesize import png_header
from tests.datasets.compare import YOLO_TOL, assert_same

# No example database: nothing written into the repository's folder.
SETTINGS = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
frac = st.floats(0, 1, allow_nan=False)


@st.composite
def annotations(draw: st.DrawFn, w: int, h: int, nc: int, kind: str, k: int) -> Annotation:
    cat = draw(st.integers(0, nc - 1))
    if kind == "polygons":
        n = draw(st.integers(3, 6))
        poly = [v for _ in range(n) for v in (draw(frac) * w, draw(frac) * h)]
        xs, ys = poly[0::2], poly[1::2]
        box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        return Annotation(cat, box, [poly])
    x, y = draw(frac) * w, draw(frac) * h
    box = (x, y, draw(frac) * (w - x), draw(frac) * (h - y))
    kps = None
    if kind == "keypoints":
        kps = []
        for _ in range(k):
            kps += [draw(frac) * w, draw(frac) * h, float(draw(st.integers(0, 2)))]
    return Annotation(cat, box, None, kps)


@st.composite
def datasets(draw: st.DrawFn, kind: str) -> Dataset:
    nc = draw(st.integers(1, 5))
    k = draw(st.integers(1, 4)) if kind == "keypoints" else 0
    images = []
    for i in range(draw(st.integers(1, 4))):
        w, h = draw(st.integers(1, 5000)), draw(st.integers(1, 5000))
        anns = draw(st.lists(annotations(w, h, nc, kind, k), max_size=4))
        images.append(Image(f"im{i}.png", w, h, draw(st.sampled_from(["train", "val"])), anns))
    return Dataset([f"c{j}" for j in range(nc)], images, k)


def _with_files(data: Dataset, root: Path) -> Dataset:
    for image in data.images:
        image.path = root / image.split / image.file
        image.path.parent.mkdir(parents=True, exist_ok=True)
        image.path.write_bytes(png_header(image.width, image.height))
    return data


# VOC writes 6 decimals in pixels: a width (xmax - xmin) within 1e-6 px, which is within
# 2e-6 of any image size >= 1 with room for float error.
TOL = {"yolo": YOLO_TOL, "voc": 2 * YOLO_TOL, "coco": 0.0, "native": 0.0}


def _check(data: Dataset, a: str, b: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _with_files(data, root / "gen")
        write_dataset(data, root / "a", a)
        first = read_dataset(root / "a").materialize()
        assert_same(data, first, TOL[a])
        convert(root / "a", to=b, dest=root / "b")
        convert(root / "b", to=a, dest=root / "a2")
        assert_same(first, read_dataset(root / "a2").materialize(), TOL[a] + TOL[b])


@SETTINGS
@given(datasets("boxes"), st.sampled_from(["yolo", "coco", "native", "voc"]),
       st.sampled_from(["yolo", "coco", "native", "voc"]))  # fmt: skip
def test_boxes_round_trip(data: Dataset, a: str, b: str) -> None:
    _check(data, a, b if a != b else "native")


@SETTINGS
@given(datasets("polygons"), st.permutations(["yolo", "coco", "native"]))
def test_polygons_round_trip(data: Dataset, order: list[str]) -> None:
    _check(data, order[0], order[1])


@SETTINGS
@given(datasets("keypoints"), st.permutations(["yolo", "coco", "native"]))
def test_keypoints_round_trip(data: Dataset, order: list[str]) -> None:
    _check(data, order[0], order[1])
