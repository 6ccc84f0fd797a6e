"""DatasetRef: a dataset's location and format as pipeline data."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hoist.datasets import DatasetRef, write_dataset
from hoist.datasets.synthetic import generate
from hoist.errors import DatasetConversionError, DatasetValidationError


def test_ref_detects_converts_and_round_trips_as_json(tmp_path: Path) -> None:
    write_dataset(generate(tmp_path / "gen", images=4), tmp_path / "y", "yolo")
    ref = DatasetRef.at(tmp_path / "y")
    assert ref.format == "yolo"
    coco = ref.convert("coco", tmp_path / "c")
    assert coco == DatasetRef(path=str(tmp_path / "c"), format="coco")
    assert DatasetRef.model_validate_json(coco.model_dump_json()) == coco
    assert coco.stats()["annotations"] == 12
    coco.check()
    assert coco.expect("coco") is coco and coco.expect(None) is coco
    with pytest.raises(DatasetConversionError, match="is coco, expected yolo: convert it"):
        coco.expect("yolo")


def test_ref_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown dataset format 'kitti'"):
        DatasetRef(path=str(tmp_path), format="kitti")
    write_dataset(generate(tmp_path / "gen", images=2), tmp_path / "y", "yolo")
    label = next((tmp_path / "y" / "labels" / "train").iterdir())
    label.write_text("0 0.5\n")
    with pytest.raises(DatasetValidationError, match="malformed line"):
        DatasetRef.at(tmp_path / "y").check()
