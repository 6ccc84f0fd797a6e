"""``hoist datasets convert|validate|stats``: datasets in YOLO, COCO, Pascal VOC and
Hoist's native format (see :mod:`hoist.datasets`)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hoist.datasets import FORMATS, convert, stats, validate

__all__ = ["datasets"]

_FORMAT_HELP = f"One of: {', '.join(sorted(FORMATS))} (default: detected)."


@click.group("datasets")
def datasets() -> None:
    """Convert, validate and count annotated image datasets."""


@datasets.command("convert")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, help=f"Target format. {_FORMAT_HELP}")
@click.option("--dest", required=True, type=click.Path(path_type=Path),
              help="Output folder (must not exist, or be empty).")  # fmt: skip
@click.option("--from", "source_format", help=f"Source format. {_FORMAT_HELP}")
@click.option(
    "--allow-lossy", is_flag=True,
    help="Drop what the target cannot hold (segmentation into a box-only format).",
)  # fmt: skip
@click.option(
    "--no-images",
    is_flag=True,
    help="Annotations only: images neither copied nor required (YOLO reads their sizes).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def convert_cmd(
    src: Path, to: str, dest: Path, source_format: str | None, allow_lossy: bool,
    no_images: bool, quiet: bool,
) -> None:  # fmt: skip
    """Convert the dataset at SRC into another format at --dest (streaming)."""
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("converting {task.description}"),
        TextColumn("{task.completed} images"), TimeElapsedColumn(),
        console=console, disable=quiet, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"{src} -> {to}", total=None)
        result = convert(
            src, to=to, dest=dest, source_format=source_format, allow_lossy=allow_lossy,
            copy_images=not no_images,
            progress=lambda n: progress.update(task, completed=n),
        )  # fmt: skip
    click.echo(
        f"converted {result.images} images from {result.source_format} to {result.format}: "
        f"{result.dest}"
    )


@datasets.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", help=_FORMAT_HELP)
@click.option("--max-issues", default=1000, show_default=True, help="Stop after this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
def validate_cmd(path: Path, fmt: str | None, max_issues: int, as_json: bool) -> None:
    """Check every file of a dataset: each broken rule with its file and line (or JSON
    path). Exit code 2 when any rule is broken."""
    report = validate(path, fmt, max_issues=max_issues)
    if as_json:
        click.echo(json.dumps({
            "format": report.format, "images": report.images,
            "annotations": report.annotations, "ok": report.ok, "truncated": report.truncated,
            "issues": [{"path": i.path, "line": i.line, "json_path": i.json_path,
                        "rule": i.rule} for i in report.issues],
        }, indent=2))  # fmt: skip
    else:
        for issue in report.issues:
            click.echo(f"{issue.message}", err=True)
        more = " (stopped: --max-issues reached)" if report.truncated else ""
        verdict = "ok" if report.ok else f"{len(report.issues)} problem(s){more}"
        click.echo(
            f"{report.format}: {report.images} images, {report.annotations} annotations: {verdict}"
        )
    if not report.ok:
        raise click.exceptions.Exit(2)


@datasets.command("stats")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", help=_FORMAT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
def stats_cmd(path: Path, fmt: str | None, as_json: bool) -> None:
    """Images per split and annotations per category."""
    data = stats(path, fmt)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(
        f"{data['format']}: {data['images']} images "
        f"({', '.join(f'{k} {v}' for k, v in data['images_per_split'].items()) or 'none'}), "
        f"{data['annotations']} annotations ({data['segmented']} segmented, "
        f"{data['with_keypoints']} with keypoints)"
    )
    table = Table(show_edge=False, header_style="bold")
    table.add_column("CATEGORY")
    table.add_column("ANNOTATIONS", justify="right")
    for name, count in data["annotations_per_category"].items():
        table.add_row(name, str(count))
    Console().print(table)
