"""A dataset as pipeline data: where it is and in which format.

Actions pass a :class:`DatasetRef` (a pydantic model, so it crosses params, results and
run records as JSON) rather than a bare path: the typed pipeline check
(``input_type``/``output_type``, ``hoist.plugins.types``) says *which kind* of dataset
flows, and the ref says *which one*, with its format checked against the type's.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from hoist.datasets.convert import convert, detect_format, read_dataset, stats, validate
from hoist.datasets.formats import FORMATS
from hoist.datasets.model import DatasetStream
from hoist.errors.datasets import DatasetConversionError

__all__ = ["DatasetRef"]


class DatasetRef(BaseModel):
    """A dataset's location (a folder or its main file) and format name."""

    model_config = ConfigDict(frozen=True)

    path: str
    format: str

    @field_validator("format")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.lower() not in FORMATS:
            raise ValueError(
                f"unknown dataset format '{value}'; known: {', '.join(sorted(FORMATS))}"
            )
        return value.lower()

    @classmethod
    def at(cls, path: str | os.PathLike[str], format: str | None = None) -> DatasetRef:
        """A ref to the dataset at ``path`` (its format detected unless given)."""
        name = format or detect_format(path).name
        return cls(path=str(path), format=name)

    def open(self) -> DatasetStream:
        """Stream the dataset's images (see :func:`hoist.datasets.read_dataset`)."""
        return read_dataset(self.path, self.format)

    def convert(
        self, to: str, dest: str | os.PathLike[str], *, allow_lossy: bool = False,
        copy_images: bool = True,
    ) -> DatasetRef:  # fmt: skip
        """Convert into format ``to`` at ``dest``; the ref to the result."""
        result = convert(
            self.path, to=to, dest=dest, source_format=self.format,
            allow_lossy=allow_lossy, copy_images=copy_images,
        )  # fmt: skip
        return DatasetRef(path=str(result.dest), format=result.format)

    def check(self) -> None:
        """Raise the first broken rule (``DatasetValidationError``), if any."""
        report = validate(self.path, self.format)
        if report.issues:
            raise report.issues[0]

    def stats(self) -> dict[str, object]:
        """Counts (see :func:`hoist.datasets.stats`)."""
        return stats(self.path, self.format)

    def expect(self, format: str | None) -> DatasetRef:
        """This ref, checked to be in ``format`` (a dataset type's ``format``; None: any)."""
        if format is not None and format != self.format:
            raise DatasetConversionError(
                f"dataset {self.path} is {self.format}, expected {format}: convert it first "
                f"(DatasetRef.convert(to='{format}', ...) or `hoist datasets convert`)"
            )
        return self

    @property
    def location(self) -> Path:
        """``path`` as a Path."""
        return Path(self.path)
