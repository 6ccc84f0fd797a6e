"""Bad input: each broken rule is reported naming the file and line (or JSON path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hoist.datasets import convert, read_dataset, validate, write_dataset
from hoist.datasets.synthetic import generate
from hoist.errors import DatasetConversionError, DatasetValidationError, UserInputError


def _yolo(tmp_path: Path) -> tuple[Path, Path]:
    write_dataset(generate(tmp_path / "gen", images=2, splits=("train",)), tmp_path / "y", "yolo")
    label = sorted((tmp_path / "y" / "labels" / "train").iterdir())[0]
    return tmp_path / "y", label


def _read_all(path: Path) -> None:
    for _ in read_dataset(path).images:
        pass


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("0 0.5 0.5 0.1", "malformed line: 3 values"),
        ("zero 0.5 0.5 0.1 0.1", "malformed line: expected"),
        ("7 0.5 0.5 0.1 0.1", "unknown class id 7"),
        ("0 0.95 0.5 0.2 0.1", "box outside its image"),
    ],
)
def test_yolo_label_rule_names_file_and_line(tmp_path: Path, line: str, rule: str) -> None:
    root, label = _yolo(tmp_path)
    label.write_text(label.read_text() + line + "\n")
    with pytest.raises(DatasetValidationError) as err:
        _read_all(root)
    assert err.value.path == str(label) and err.value.line == 4
    assert rule in err.value.rule and f"{label}:4: " in str(err.value)
    assert isinstance(err.value, UserInputError)


def test_yolo_label_without_its_image(tmp_path: Path) -> None:
    root, label = _yolo(tmp_path)
    orphan = label.with_name("ghost.txt")
    orphan.write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DatasetValidationError, match="missing image file") as err:
        _read_all(root)
    assert err.value.path == str(orphan)


def test_yolo_data_yaml_missing_or_broken(tmp_path: Path) -> None:
    root, _ = _yolo(tmp_path)
    (root / "data.yaml").write_text("names: [a, b\ntrain: images/train\n")
    with pytest.raises(DatasetValidationError, match="not valid YAML") as err:
        read_dataset(root, "yolo")
    assert err.value.line is not None
    (root / "data.yaml").write_text("train: images/train\n")
    with pytest.raises(DatasetValidationError, match="needs 'names'"):
        read_dataset(root, "yolo")
    (root / "data.yaml").unlink()
    with pytest.raises(DatasetValidationError, match=r"needs a data\.yaml"):
        read_dataset(root, "yolo")


def _coco(tmp_path: Path) -> tuple[Path, Path, dict]:
    write_dataset(generate(tmp_path / "gen", images=3, splits=("train",)), tmp_path / "c", "coco")
    file = tmp_path / "c" / "annotations" / "instances_train.json"
    return tmp_path / "c", file, json.loads(file.read_text())


@pytest.mark.parametrize(
    ("edit", "json_path", "rule"),
    [
        (lambda d: d["annotations"][2].update(category_id=99), "annotations[2].category_id",
         "unknown category id 99"),
        (lambda d: d["annotations"][1].update(bbox=[10, 10, 1e5, 5]), "annotations[1].bbox",
         "box outside its image"),
        (lambda d: d["annotations"][0].update(bbox=[1, 2]), "annotations[0].bbox", "4 numbers"),
        (lambda d: d["annotations"][0].update(image_id=404), "annotations[0].image_id",
         "unknown image id 404"),
        (lambda d: d["images"][1].update(file_name="nope.png"), "images[1].file_name",
         "missing image file 'nope.png'"),
        (lambda d: d["annotations"][3].update(segmentation={"counts": "x", "size": [1, 1]}),
         "annotations[3].segmentation", "RLE"),
        (lambda d: d["images"][0].pop("width"), "images[0]", "positive integer 'width'"),
    ],
)  # fmt: skip
def test_coco_rule_names_json_path(tmp_path: Path, edit, json_path: str, rule: str) -> None:
    root, file, doc = _coco(tmp_path)
    edit(doc)
    file.write_text(json.dumps(doc))
    with pytest.raises(DatasetValidationError) as err:
        _read_all(root)
    assert err.value.path == str(file) and err.value.json_path == json_path
    assert rule in err.value.rule


def test_coco_broken_json_names_line(tmp_path: Path) -> None:
    root, file, _ = _coco(tmp_path)
    file.write_text('{\n  "images": [\n  }\n')
    with pytest.raises(DatasetValidationError, match="not valid JSON") as err:
        read_dataset(root)
    assert err.value.line == 3


def test_native_bad_lines(tmp_path: Path) -> None:
    write_dataset(generate(tmp_path / "gen", images=2), tmp_path / "n", "native")
    file = tmp_path / "n" / "dataset.jsonl"
    lines = file.read_text().splitlines()
    rec = json.loads(lines[1])
    rec["annotations"][0]["category"] = 5
    file.write_text("\n".join([lines[0], json.dumps(rec), "{oops", *lines[2:]]) + "\n")
    report = validate(tmp_path / "n")
    rules = [(i.line, i.rule) for i in report.issues]
    assert rules[0][0] == 2 and "unknown class id 5" in rules[0][1]
    assert rules[1][0] == 3 and "malformed image line" in rules[1][1]
    assert not report.ok and report.images == 2


def test_validate_collects_every_issue(tmp_path: Path) -> None:
    root, label = _yolo(tmp_path)
    label.write_text("9 0.5 0.5 0.1 0.1\n0 0.5\n0 0.5 0.5 0.2 0.2\n")
    report = validate(root)
    assert [(i.line, i.rule.split(":")[0]) for i in report.issues] == [
        (1, "unknown class id 9 (data.yaml names 3 classes"), (2, "malformed line"),
    ]  # fmt: skip
    assert report.annotations == 4  # 1 kept here + 3 in the other image
    assert validate(root, "yolo").format == "yolo"


def test_unknown_format_lists_the_known(tmp_path: Path) -> None:
    root, _ = _yolo(tmp_path)
    with pytest.raises(DatasetConversionError, match="unknown dataset format 'kitti'; known"):
        convert(root, to="kitti", dest=tmp_path / "out")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DatasetConversionError, match="cannot tell the format"):
        read_dataset(tmp_path / "plain")


def test_destination_must_be_empty(tmp_path: Path) -> None:
    root, _ = _yolo(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("")
    with pytest.raises(DatasetConversionError, match="not empty"):
        convert(root, to="coco", dest=tmp_path / "out")


def _voc(tmp_path: Path) -> tuple[Path, Path]:
    write_dataset(generate(tmp_path / "gen", images=2, splits=("train",)), tmp_path / "v", "voc")
    return tmp_path / "v", sorted((tmp_path / "v" / "Annotations").iterdir())[0]


@pytest.mark.parametrize(
    ("old", "new", "where", "rule"),
    [
        ("<name>class_", "<name>zebra_", "object[1]/name", "unknown class 'zebra_"),
        ("<xmax>", "<xmax>9999", "object[1]/bndbox", "box outside its image"),
        ("<ymin>", "<ymin>x", "object[1]/bndbox", "numeric xmin"),
        ("<filename>", "<filename>gone", "filename", "missing image file"),
    ],
)
def test_voc_rule_names_file_and_element(
    tmp_path: Path, old: str, new: str, where: str, rule: str
) -> None:
    root, xml = _voc(tmp_path)
    xml.write_text(xml.read_text().replace(old, new, 1))
    with pytest.raises(DatasetValidationError) as err:
        _read_all(root)
    assert err.value.path == str(xml) and err.value.json_path == where
    assert rule in err.value.rule


def test_voc_broken_xml_names_line(tmp_path: Path) -> None:
    root, xml = _voc(tmp_path)
    xml.write_text(xml.read_text().replace("</depth>", "</dep>", 1))
    with pytest.raises(DatasetValidationError, match="not valid XML") as err:
        _read_all(root)
    assert err.value.line == 4
