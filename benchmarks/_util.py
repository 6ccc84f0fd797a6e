"""Small timing helpers shared by the benchmarks (best of N, to damp a noisy machine)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["best_per_op", "plugin_home", "report"]


def best_per_op(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` batches of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def report(rows: list[tuple[str, str, str, str]]) -> None:
    """Print ``(what, measured, baseline, ratio / target)`` rows as a table."""
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def plugin_home(files: Mapping[str, str], prefix: str) -> Path:
    """A fresh ``HOIST_HOME`` (set in the environment, with Ray's loopback settings) holding
    a plugin folder ``bench`` made of ``files``; returns the plugin folder."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["HOIST_HOME"] = str(home)
    from hoist.executors.ray.cluster import LOOPBACK_ENV

    os.environ.update(LOOPBACK_ENV)  # before Ray is imported: it reads them once
    root = home / "bench"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root
