"""Fetch a dataset, validate it and (optionally) convert it.

The base (``DatasetAction``) runs ``fetch`` (copy ``source`` into ``path``),
``validate`` (fails the run on problems when ``strict``) and ``convert`` (only with
``convert_to``). This starter works on CSV files of ``x,y`` rows; without a
``source`` it fetches generated data.
"""

import csv
import json
from pathlib import Path

from hoist.plugins.actions import DatasetAction, DatasetParams


class PrepareDatasetAction(DatasetAction[DatasetParams]):
    """Fetch, validate and convert a dataset."""

    action_name = "dataset"

    def fetch(self, dest: Path) -> None:
        if self.params.source:
            super().fetch(dest)
            return
        with (dest / "data.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["x", "y"])
            for i in range(20):
                writer.writerow([i / 20, 2 * i / 20 + 1])

    def validate(self, path: Path) -> list[str]:
        errors = []
        for file in sorted(path.rglob("*.csv")):
            with file.open() as fh:
                for line, row in enumerate(csv.DictReader(fh), start=2):
                    for column in ("x", "y"):
                        try:
                            float(row.get(column) or "")
                        except ValueError:
                            errors.append(f"{file.name}:{line}: {column} is not a number")
        return errors

    def convert(self, path: Path, to: str) -> Path:
        if to != "json":
            raise ValueError(f"convert_to={to!r}: this dataset converts only to 'json'")
        out = path.parent / "dataset-json"
        out.mkdir(exist_ok=True)
        for file in sorted(path.rglob("*.csv")):
            with file.open() as fh:
                rows = [{"x": float(r["x"]), "y": float(r["y"])} for r in csv.DictReader(fh)]
            (out / f"{file.stem}.json").write_text(json.dumps(rows))
        return out
