"""Packaging a plugin of 10,000 small files: ``build_package`` (reproducible archive,
``.hoistignore`` matching, per-file sha256 for the manifest, a ``.sha256`` beside it)
against ``tar czf`` on the same files, alternating, best of N in one run.

Prints both wall times (best of N), their speed ratio (tar's time over ours; target
≥ 0.8), the median ratio of back-to-back pairs, the CPU time each used (ours: every
thread of this process; tar's: tar and its gzip; steadier than wall time on a shared
machine), and the archives' sizes (ours holds the manifest's 10,000 sha256 too). The files are
written once; the page cache is warm for both (each run reads them all).

    .venv/bin/python benchmarks/bench_packaging.py
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _util import report

os.environ["HOIST_HOME"] = tempfile.mkdtemp(prefix="hoist-bench-packaging-")

from hoist.plugins.packaging import build_package

FILES, FOLDERS, REPEAT = 10_000, 100, 7


def make_plugin(root: Path) -> Path:
    """A plugin folder of FILES small Python files (40 B to 2 KiB) in FOLDERS folders."""
    rng = random.Random(16)
    plugin = root / "bench"
    (plugin / "plugin").mkdir(parents=True)
    (plugin / "config.yaml").write_text("name: Bench\ncode: bench\nversion: 1.0.0\n")
    (plugin / ".hoistignore").write_text("*.log\ndata/\n")
    for i in range(FILES):
        folder = plugin / "plugin" / f"part_{i % FOLDERS:03d}"
        folder.mkdir(exist_ok=True)
        lines = "".join(
            f"value_{i}_{n} = {rng.randint(0, 10**6)}\n" for n in range(rng.randint(2, 80))
        )
        (folder / f"module_{i:05d}.py").write_text(lines)
    return plugin


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def time_hoist(plugin: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (all of this process's threads) of one package."""
    start, used = time.perf_counter(), cpu(resource.RUSAGE_SELF)
    build_package(plugin, out)
    return time.perf_counter() - start, cpu(resource.RUSAGE_SELF) - used


def time_tar(plugin: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (tar and its gzip) of one ``tar czf``."""
    start, used = time.perf_counter(), cpu(resource.RUSAGE_CHILDREN)
    subprocess.run(["tar", "czf", str(out / "bench.tar.gz"), "-C", str(plugin.parent), plugin.name],
                   check=True)  # fmt: skip
    return time.perf_counter() - start, cpu(resource.RUSAGE_CHILDREN) - used


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="hoist-bench-packaging-files-"))
    try:
        plugin = make_plugin(root)
        out_hoist, out_tar = root / "out-hoist", root / "out-tar"
        out_tar.mkdir()
        time_hoist(plugin, out_hoist), time_tar(plugin, out_tar)  # warm the page cache
        ours, theirs, pairs, cpu_ours, cpu_theirs = [], [], [], [], []
        for _ in range(REPEAT):
            (a, a_cpu), (b, b_cpu) = time_hoist(plugin, out_hoist), time_tar(plugin, out_tar)
            ours.append(a)
            theirs.append(b)
            pairs.append(b / a)
            cpu_ours.append(a_cpu)
            cpu_theirs.append(b_cpu)
        ratio = min(theirs) / min(ours)
        cpu_ratio = min(cpu_theirs) / min(cpu_ours)
        size_ours = (out_hoist / "bench-1.0.0.tar.gz").stat().st_size
        size_tar = (out_tar / "bench.tar.gz").stat().st_size
        print(f"packaging {FILES:,} small files (best of {REPEAT}, same run)")
        report([
            ("what", "hoist", "tar czf", "ratio (target)"),
            ("wall time", f"{min(ours):.3f} s", f"{min(theirs):.3f} s",
             f"{ratio:.2f}x speed (>= 0.8)"),
            ("median of pairs", "", "", f"{statistics.median(pairs):.2f}x"),
            ("CPU time", f"{min(cpu_ours):.3f} s", f"{min(cpu_theirs):.3f} s",
             f"{cpu_ratio:.2f}x"),
            ("archive size", f"{size_ours:,} B", f"{size_tar:,} B",
             f"{size_ours / size_tar:.2f}x"),
        ])  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
