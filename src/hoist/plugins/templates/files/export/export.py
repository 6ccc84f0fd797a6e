"""Export records to a CSV file.

The base (``BaseExportAction``) picks the path (``output_dir``/``filename``, default the
run's artifacts), and records the file with its SHA-256; ``self.track`` reports
progress per record.
"""

import csv
from pathlib import Path
from typing import Any

from pydantic import Field

from hoist.plugins.actions import BaseExportAction, ExportParams

SAMPLE = [
    {"id": 1, "label": "cat", "score": 0.93},
    {"id": 2, "label": "dog", "score": 0.88},
    {"id": 3, "label": "bird", "score": 0.71},
]


class Params(ExportParams):
    records: list[dict[str, Any]] = Field(SAMPLE, description="Rows to export")


class ExportAction(BaseExportAction[Params]):
    """Write records to CSV in the run's artifacts folder."""

    action_name = "export"
    export_format = "csv"

    def export(self, path: Path) -> int:
        columns = sorted({key for row in self.params.records for key in row})
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for row in self.track(self.params.records):
                writer.writerow(row)
        return len(self.params.records)
