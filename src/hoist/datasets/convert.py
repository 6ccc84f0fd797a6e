"""The entry points: find a dataset's format, read, write, ``convert`` between any two
formats through the internal model, ``validate`` and ``stats``."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist.datasets.formats import FORMATS
from hoist.datasets.formats.base import MISSING_IMAGE, Format, IssueHandler, raise_issue
from hoist.datasets.model import Dataset, DatasetStream, Image
from hoist.errors.datasets import DatasetConversionError, DatasetValidationError

__all__ = [
    "ConvertResult",
    "ValidationReport",
    "convert",
    "detect_format",
    "get_format",
    "read_dataset",
    "stats",
    "validate",
    "write_dataset",
]


def get_format(name: str) -> Format:
    """The format called ``name``; an unknown one is refused listing the known."""
    fmt = FORMATS.get(name.lower())
    if fmt is None:
        raise DatasetConversionError(
            f"unknown dataset format '{name}'; known formats: {', '.join(sorted(FORMATS))}"
        )
    return fmt


def detect_format(path: str | os.PathLike[str]) -> Format:
    """The format of the dataset at ``path`` (a folder or its main file)."""
    p = Path(path)
    if not p.exists():
        raise DatasetValidationError("no such file or folder", path=str(p))
    for fmt in FORMATS.values():
        if fmt.detect(p):
            return fmt
    raise DatasetConversionError(
        f"cannot tell the format of {p}: expected data.yaml (yolo), annotations/*.json "
        f"or a .json file (coco), Annotations/*.xml (voc) or dataset.jsonl (native); "
        f"known formats: {', '.join(sorted(FORMATS))}"
    )


def _format(path: Path, name: str | None) -> Format:
    return get_format(name) if name else detect_format(path)


def read_dataset(
    path: str | os.PathLike[str], format: str | None = None, on_issue: IssueHandler = raise_issue
) -> DatasetStream:
    """A stream over the dataset at ``path`` (format detected unless given)."""
    p = Path(path)
    return _format(p, format).read(p, on_issue)


def write_dataset(
    data: Dataset | DatasetStream, dest: str | os.PathLike[str], format: str, *,
    allow_lossy: bool = False, copy_images: bool = True,
) -> int:  # fmt: skip
    """Write a dataset (in memory or streamed) to ``dest`` in ``format``; returns the
    number of images written."""
    stream = data.stream() if isinstance(data, Dataset) else data
    return get_format(format).write(
        stream, Path(dest), allow_lossy=allow_lossy, copy_images=copy_images
    )


@dataclass(slots=True)
class ConvertResult:
    """What a conversion wrote."""

    source_format: str
    format: str
    dest: Path
    images: int


def convert(
    src: str | os.PathLike[str], *, to: str, dest: str | os.PathLike[str],
    source_format: str | None = None, allow_lossy: bool = False, copy_images: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ConvertResult:  # fmt: skip
    """Convert the dataset at ``src`` into format ``to`` at ``dest``, streaming image by
    image through the internal model.

    What the target cannot hold (segmentation into a box-only format, keypoints,
    attributes) is refused with the reason unless ``allow_lossy``. The output is written
    to a temporary sibling folder and moved to ``dest`` when complete, so a refused or
    failed conversion leaves nothing half-written. ``dest`` must not exist or be empty.
    With ``copy_images=False`` only annotations are converted: image files are neither
    copied nor required (except by YOLO, whose labels need each image's size).
    ``progress`` is called with the number of images done so far.
    """
    src_path, dest_path = Path(src), Path(dest)
    target = get_format(to)
    source = _format(src_path, source_format)
    if dest_path.exists() and (not dest_path.is_dir() or any(dest_path.iterdir())):
        raise DatasetConversionError(f"destination {dest_path} exists and is not empty")
    stream = source.read(src_path, raise_issue if copy_images else _images_optional)
    if progress is not None:
        stream.images = _counting(stream.images, progress)
    tmp = dest_path.with_name(f".{dest_path.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        count = target.write(stream, tmp, allow_lossy=allow_lossy, copy_images=copy_images)
        if dest_path.exists():
            dest_path.rmdir()
        tmp.rename(dest_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ConvertResult(source.name, target.name, dest_path, count)


def _images_optional(issue: DatasetValidationError) -> None:
    """Annotations-only conversion: a missing image file is not a problem (YOLO still
    needs each image for its size)."""
    if not issue.rule.startswith(MISSING_IMAGE):
        raise issue


def _counting(images: Iterable[Image], progress: Callable[[int], None]) -> Iterator[Image]:
    for n, image in enumerate(images, 1):
        yield image
        progress(n)


@dataclass(slots=True)
class ValidationReport:
    """Every broken rule found (up to a limit) and what was read."""

    format: str
    images: int = 0
    annotations: int = 0
    issues: list[DatasetValidationError] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.issues


class _TooMany(Exception):
    pass


def validate(
    path: str | os.PathLike[str], format: str | None = None, *, max_issues: int = 1000
) -> ValidationReport:
    """Read the whole dataset, collecting each broken rule (file and line or JSON path)
    instead of stopping at the first."""
    p = Path(path)
    fmt = _format(p, format)
    report = ValidationReport(fmt.name)

    def collect(issue: DatasetValidationError) -> None:
        report.issues.append(issue)
        if len(report.issues) >= max_issues:
            report.truncated = True
            raise _TooMany

    try:
        stream = fmt.read(p, collect)
        for image in stream.images:
            report.images += 1
            report.annotations += len(image.annotations)
    except _TooMany:
        pass
    except DatasetValidationError as exc:  # a fatal one (no data.yaml, broken JSON)
        report.issues.append(exc)
    return report


def stats(path: str | os.PathLike[str], format: str | None = None) -> dict[str, Any]:
    """Counts of the dataset at ``path``: images per split, annotations per category,
    segmented and keypoint annotations (read streaming; stops at a broken rule)."""
    stream = read_dataset(path, format)
    per_split: Counter[str] = Counter()
    per_cat: Counter[str] = Counter()
    segmented = with_kps = total = 0
    for image in stream.images:
        per_split[image.split] += 1
        for ann in image.annotations:
            total += 1
            per_cat[stream.categories[ann.category]] += 1
            segmented += ann.segmentation is not None
            with_kps += ann.keypoints is not None
    return {
        "format": _format(Path(path), format).name,
        "categories": list(stream.categories),
        "images": sum(per_split.values()),
        "images_per_split": dict(per_split),
        "annotations": total,
        "annotations_per_category": {c: per_cat[c] for c in stream.categories},
        "segmented": segmented,
        "with_keypoints": with_kps,
    }
