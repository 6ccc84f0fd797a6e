"""``hoist datasets convert|validate|stats``: exit 0 on success, 2 on bad input naming the
file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hoist.datasets import read_dataset, write_dataset
from hoist.datasets.synthetic import generate


def _yolo(tmp_path: Path, **kw: Any) -> Path:
    write_dataset(generate(tmp_path / "gen", images=4, **kw), tmp_path / "y", "yolo")
    return tmp_path / "y"


def test_convert_validate_stats(hoist: Any, tmp_path: Path) -> None:
    root = _yolo(tmp_path)
    result = hoist("datasets", "convert", str(root), "--to", "coco", "--dest", str(tmp_path / "c"))
    assert result.code == 0, result.err
    assert "converted 4 images from yolo to coco" in result.out
    assert len(read_dataset(tmp_path / "c").materialize().images) == 4
    result = hoist("datasets", "validate", str(tmp_path / "c"))
    assert result.code == 0 and "coco: 4 images, 12 annotations: ok" in result.out
    result = hoist("datasets", "stats", str(tmp_path / "c"), "--json")
    assert result.code == 0 and result.json()["images_per_split"] == {"train": 2, "val": 2}
    result = hoist("datasets", "stats", str(root))
    assert result.code == 0 and "class_0" in result.out


def test_validate_names_file_and_line_exit_2(hoist: Any, tmp_path: Path) -> None:
    root = _yolo(tmp_path)
    label = sorted((root / "labels" / "val").iterdir())[0]
    label.write_text(label.read_text() + "5 0.5 0.5 0.1 0.1\n")
    result = hoist("datasets", "validate", str(root))
    assert result.code == 2
    assert f"{label}:4: unknown class id 5" in result.err
    assert "1 problem(s)" in result.out
    result = hoist("datasets", "validate", str(root), "--json")
    assert result.code == 2 and result.json()["issues"][0]["line"] == 4


def test_convert_bad_input_exit_2(hoist: Any, tmp_path: Path) -> None:
    root = _yolo(tmp_path, segmentation=True)
    result = hoist(
        "datasets", "convert", str(root), "--to", "pascal", "--dest", str(tmp_path / "o")
    )
    assert result.code == 2 and "known formats: coco, native, voc, yolo" in result.err
    result = hoist("datasets", "convert", str(root), "--to", "voc", "--dest", str(tmp_path / "o"))
    assert result.code == 2 and "would lose segmentation" in result.err
    assert "--allow-lossy" in result.err
    result = hoist("datasets", "convert", str(root), "--to", "voc", "--dest", str(tmp_path / "o"),
                   "--allow-lossy", "-q")  # fmt: skip
    assert result.code == 0, result.err
    label = sorted((root / "labels" / "train").iterdir())[0]
    label.write_text("0 0.5 zz\n")
    result = hoist("datasets", "convert", str(root), "--to", "coco", "--dest", str(tmp_path / "p"))
    assert result.code == 2 and f"{label}:1: malformed line" in result.err
    assert not (tmp_path / "p").exists()
