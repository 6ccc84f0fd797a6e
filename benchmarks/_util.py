"""Small timing helpers shared by the benchmarks (best of N, to damp a noisy machine)."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["best_per_op", "report"]


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
