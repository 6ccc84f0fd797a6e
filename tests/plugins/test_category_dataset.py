"""``DatasetAction``: fetch, validate and convert, through LocalExecutor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.actions import DatasetAction, DatasetParams, DatasetResult
from hoist.runs.models import StepEvent
from hoist.runs.sinks.memory import MemorySink


def run(action: Any, **params: Any) -> tuple[Any, list[Any]]:
    sink = MemorySink()
    result = LocalExecutor(sink=sink, progress_interval=0).execute(action, params)
    (run_id,) = list(sink.runs)
    return result, sink.events(run_id)


class Labels(DatasetAction[DatasetParams]):
    """Validates ``*.txt`` label files: one integer class id per line."""

    def validate(self, path: Path) -> list[str]:
        errors = []
        for file in sorted(path.rglob("*.txt")):
            for n, line in enumerate(file.read_text().splitlines(), start=1):
                if not line.strip().isdigit():
                    errors.append(f"{file.name}:{n}: class id {line!r} is not an integer")
        return errors

    def convert(self, path: Path, to: str) -> Path:
        if to != "json":
            raise ValueError(f"cannot convert to {to!r}")
        out = path.parent / "converted"
        out.mkdir(exist_ok=True)
        labels = {f.stem: f.read_text().split() for f in sorted(path.glob("*.txt"))}
        (out / "labels.json").write_text(json.dumps(labels))
        return out


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "a.txt").write_text("0\n1\n")
    (folder / "b.txt").write_text("2\n")
    return folder


def test_dataset_fetch_validate_convert(labels: Path) -> None:
    result, events = run(Labels, source=str(labels), format="txt", convert_to="json")
    assert isinstance(result, DatasetResult)
    assert (result.format, result.converted_to, result.files) == ("json", "json", 1)
    assert json.loads(Path(result.path, "labels.json").read_text()) == {
        "a": ["0", "1"], "b": ["2"],
    }  # fmt: skip
    plain, events = run(Labels, source=str(labels))
    assert (plain.files, plain.format, plain.errors) == (2, None, [])
    phases = {e.step: e.phase for e in events if isinstance(e, StepEvent)}
    assert phases == {"fetch": "finished", "validate": "finished", "convert": "skipped"}


def test_validation_problems_name_the_file_and_line(labels: Path) -> None:
    (labels / "b.txt").write_text("2\nx\n")
    with pytest.raises(ActionFailedError, match=r"b.txt:2: class id 'x' is not an integer"):
        run(Labels, source=str(labels))
    lenient, _ = run(Labels, source=str(labels), strict=False)
    assert lenient.errors == ["b.txt:2: class id 'x' is not an integer"]


def test_dataset_bad_input(tmp_path: Path, labels: Path) -> None:
    with pytest.raises(ActionFailedError, match="source: give a file or folder"):
        run(Labels)
    with pytest.raises(ActionFailedError, match="does not exist"):
        run(Labels, source=str(tmp_path / "nowhere"))
    with pytest.raises(ActionFailedError, match="the dataset is empty"):
        (tmp_path / "empty").mkdir()
        run(DatasetAction, source=str(tmp_path / "empty"))
    with pytest.raises(ActionFailedError, match="does not implement convert"):
        run(DatasetAction, source=str(labels), convert_to="parquet")


def test_the_default_steps_are_hoist_datasets(tmp_path: Path) -> None:
    """Without overrides, a YOLO dataset is validated and converted by hoist.datasets."""
    from hoist.datasets import synthetic, write_dataset

    source = tmp_path / "yolo"
    write_dataset(synthetic.generate(tmp_path / "images", images=4, boxes=2), source, "yolo")
    result, _ = run(DatasetAction, source=str(source), convert_to="coco")
    converted = Path(result.path)  # the converted dataset, beside the fetched one
    assert result.converted_to == "coco" and converted.name == "dataset-coco"
    assert any(converted.rglob("*.json"))
    # A label with an unknown class id is a validation failure naming the file and line.
    label = next((source / "labels").rglob("*.txt"))
    label.write_text("99 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ActionFailedError, match=rf"{label.name}.*:1"):
        run(DatasetAction, source=str(source))
