"""Export records to a CSV file."""

import csv
from typing import Any

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory

SAMPLE = [
    {"id": 1, "label": "cat", "score": 0.93},
    {"id": 2, "label": "dog", "score": 0.88},
    {"id": 3, "label": "bird", "score": 0.71},
]


class ExportParams(BaseModel):
    records: list[dict[str, Any]] = Field(SAMPLE, description="Rows to export")
    filename: str = Field("export.csv", pattern=r"^[\w.-]+\.csv$", description="Output file")


class ExportResult(BaseModel):
    path: str
    rows: int
    columns: list[str]


class ExportAction(BaseAction[ExportParams]):
    """Write records to CSV in the run's artifacts folder."""

    action_name = "export"
    category = PluginCategory.EXPORT
    result_model = ExportResult

    def execute(self) -> ExportResult:
        columns = sorted({key for row in self.params.records for key in row})
        path = self.ctx.artifacts_dir / self.params.filename
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for i, row in enumerate(self.params.records, start=1):
                writer.writerow(row)
                self.set_progress(i, len(self.params.records))
        self.ctx.add_artifact(path)
        return ExportResult(path=str(path), rows=len(self.params.records), columns=columns)
