"""COCO written by Hoist loads in pycocotools (a reader no one here wrote) with the same
counts, categories and areas."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoist.datasets import convert, write_dataset
from hoist.datasets.synthetic import generate
from tests.conftest import need


@pytest.mark.parametrize("kind", ["boxes", "polygons", "keypoints"])
def test_pycocotools_reads_what_hoist_writes(tmp_path: Path, kind: str) -> None:
    try:
        from pycocotools import mask as mask_utils
        from pycocotools.coco import COCO
    except ImportError:
        need("pycocotools (dev extra)")
    data = generate(
        tmp_path / "gen", images=6, boxes=4, splits=("train",),
        segmentation=kind == "polygons", keypoints=5 if kind == "keypoints" else 0,
    )  # fmt: skip
    write_dataset(data, tmp_path / "y", "yolo")
    convert(tmp_path / "y", to="coco", dest=tmp_path / "c")
    coco = COCO(str(tmp_path / "c" / "annotations" / "instances_train.json"))
    assert len(coco.getImgIds()) == 6 and len(coco.getAnnIds()) == 24
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == data.categories
    by_file = {i.file: i for i in data.images}
    for image_id in coco.getImgIds():
        info = coco.loadImgs(image_id)[0]
        ours = by_file[info["file_name"]]
        assert (info["width"], info["height"]) == (ours.width, ours.height)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        assert len(anns) == len(ours.annotations)
        for ann, mine in zip(anns, ours.annotations, strict=True):
            assert ann["area"] == pytest.approx(mine.area, rel=1e-4, abs=1e-3)
            if kind == "polygons":
                # pycocotools' own rasterised area of our polygon agrees (within a pixel
                # boundary's worth of the exact polygon area).
                rle = coco.annToRLE(ann)
                raster = float(mask_utils.area(rle))
                perimeter = 2 * (mine.bbox[2] + mine.bbox[3])
                assert abs(raster - ann["area"]) <= perimeter + 4
            if kind == "keypoints":
                assert len(ann["keypoints"]) == 15
                assert ann["num_keypoints"] == sum(1 for v in ann["keypoints"][2::3] if v > 0)
