"""``BaseExportAction``: real runs through LocalExecutor."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.actions import BaseExportAction, ExportParams, ExportResult
from hoist.plugins.steps import BaseStep, StepRegistry
from hoist.runs.models import ArtifactEvent, ProgressEvent, StepEvent
from hoist.runs.sinks.memory import MemorySink

ROWS = [{"id": 1, "label": "cat"}, {"id": 2, "label": "dog"}, {"id": 3, "label": "bird"}]


class CsvParams(ExportParams):
    rows: list[dict[str, Any]] = ROWS


class CsvExport(BaseExportAction[CsvParams]):
    export_format = "csv"

    def export(self, path: Path) -> int:
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", "label"])
            writer.writeheader()
            for row in self.track(self.params.rows):
                writer.writerow(row)
        return len(self.params.rows)


def run(action: Any, **params: Any) -> tuple[Any, list[Any]]:
    sink = MemorySink()
    result = LocalExecutor(sink=sink, progress_interval=0).execute(action, params)
    (run_id,) = list(sink.runs)
    return result, sink.events(run_id)


def test_export_writes_checksums_and_records_the_file(tmp_path: Path) -> None:
    result, events = run(CsvExport)
    assert isinstance(result, ExportResult)
    path = Path(result.path)
    assert path.name == "csv_export.csv" and path.parent.name == "artifacts"
    assert (result.records, result.format) == (3, "csv")
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.size == path.stat().st_size
    assert [e.name for e in events if isinstance(e, ArtifactEvent)] == ["csv_export.csv"]
    bars = [e.current for e in events if isinstance(e, ProgressEvent) and e.category == "export"]
    assert bars == [1, 2, 3]
    steps = [e.step for e in events if isinstance(e, StepEvent) and e.phase == "finished"]
    assert steps == ["prepare", "export", "finalize"]

    named, _ = run(CsvExport, output_dir=str(tmp_path / "out"), filename="labels.csv")
    assert named.path == str(tmp_path / "out" / "labels.csv")


def test_a_plugin_extends_the_default_steps(tmp_path: Path) -> None:
    class Manifest(BaseStep[Any]):
        name = "manifest"

        def execute(self, context: Any) -> None:
            Path(context.path).with_suffix(".json").write_text(json.dumps({"ok": True}))

    class WithManifest(CsvExport):
        def setup_steps(self, registry: StepRegistry[Any]) -> None:
            super().setup_steps(registry)
            registry.insert_after("export", Manifest())

    result, events = run(WithManifest, output_dir=str(tmp_path))
    assert (tmp_path / "with_manifest.json").is_file() and result.records == 3
    steps = [e.step for e in events if isinstance(e, StepEvent) and e.phase == "finished"]
    assert steps == ["prepare", "export", "manifest", "finalize"]


def test_an_export_that_writes_nothing_fails_and_leaves_nothing() -> None:
    class Nothing(BaseExportAction[ExportParams]):
        def export(self, path: Path) -> None:
            return None

    with pytest.raises(ActionFailedError, match="export\\(\\) did not write"):
        run(Nothing)
