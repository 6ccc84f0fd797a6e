"""Read paths of the run store at growing sizes (issue 19): a store is filled through its
own batch writer (``RunStore.write_batch``) to each size in turn (20 plugins, 100 actions,
a mix of statuses, pipelines with children, one long run whose log grows with the store),
and each read path is timed (best of ``--repeat``) on SQLite and PostgreSQL; the growth
from the smallest to the largest size is printed last.

    .venv/bin/python benchmarks/bench_scale.py                          # 10k, 200k runs
    .venv/bin/python benchmarks/bench_scale.py --sizes 10000,1000000 --long-events 1000000
    .venv/bin/python benchmarks/bench_scale.py --db sqlite              # one database only

PostgreSQL: ``--pg-url`` (default ``postgresql://postgres@127.0.0.1:5432/test``) names a
server and a database to connect to; the benchmark creates its own database there and
drops it at the end. Target (issue 19): every read flat (within 2x of its figure at the
smallest size) and ``hoist runs show`` of the long run in <= 1 s and <= 100 MB.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _util import best_per_op  # type: ignore[import-not-found]

from hoist.runs.models import (
    ArtifactEvent,
    EventBase,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.reader import RunFilter
from hoist.runs.store.store import RunStore

REPO = Path(__file__).resolve().parent.parent
HOIST = REPO / ".venv" / "bin" / "hoist"
YEAR = 365 * 86400.0
BATCH = 5000
TAG = 0x5CA1E00
STATUSES = (
    [RunStatus.SUCCEEDED] * 80 + [RunStatus.FAILED] * 12 + [RunStatus.CANCELLED] * 4
    + [RunStatus.LOST] * 2 + [RunStatus.RUNNING] * 1 + [RunStatus.QUEUED] * 1
)  # fmt: skip


def run_id(ms: int, n: int) -> str:
    """An id of :func:`~hoist.runs.models.new_run_id`'s shape for time ``ms``, number ``n``."""
    return f"{ms:012x}{TAG + (n >> 20):07x}{n & 0xFFFFF:05x}"


class Filler:
    """Adds runs (oldest first, spread over a year) and the long run's events."""

    def __init__(self, store: RunStore, max_runs: int) -> None:
        self.store = store
        self.start = time.time() - YEAR
        self.step = YEAR / max_runs
        self.count = 0
        self.long_seq = 0
        self.long_id = run_id(int(self.start * 1000) - 1, 0xFFFFF)
        self.pipeline_id = ""
        long = Run(id=self.long_id, plugin="p0", action="a0", status=RunStatus.RUNNING,
                   created_at=self.start - 1, started_at=self.start)  # fmt: skip
        store.write_batch([long], [])

    def _run(self, n: int) -> tuple[list[Run], list[EventBase]]:
        created = self.start + n * self.step
        rid = run_id(int(created * 1000), n)
        status = STATUSES[(n * 7919) % len(STATUSES)]
        kind, parent = RunKind.ACTION, None
        if n % 50 == 0:
            kind, self.pipeline_id = RunKind.PIPELINE, rid
        elif n % 50 <= 5 and self.pipeline_id:
            parent = self.pipeline_id
        ended = created + 5 if status.is_terminal else None
        run = Run(id=rid, kind=kind, parent_id=parent, plugin=f"p{n % 20}",
                  action=f"a{n % 100}", status=status, params={"n": n, "lr": 0.01},
                  created_at=created, started_at=created + 1, finished_at=ended,
                  heartbeat_at=created + 5)  # fmt: skip
        evs: list[EventBase] = [
            StatusEvent(run_id=rid, seq=1, ts=created + 1, status=RunStatus.RUNNING),
            ProgressEvent(run_id=rid, seq=2, ts=created + 2, current=1, total=1),
        ]
        if status.is_terminal:
            evs.append(StatusEvent(run_id=rid, seq=3, ts=created + 5, status=status))
        return [run], evs

    def fill_runs(self, upto: int) -> None:
        while self.count < upto:
            end = min(upto, self.count + BATCH)
            runs: list[Run] = []
            evs: list[EventBase] = []
            for n in range(self.count, end):
                r, e = self._run(n)
                runs += r
                evs += e
            self.store.write_batch(runs, evs)
            self.count = end

    def _long_event(self, seq: int) -> EventBase:
        ts = self.start + seq * 0.01
        rid = self.long_id
        if seq == 1:
            return StatusEvent(run_id=rid, seq=seq, ts=ts, status=RunStatus.RUNNING)
        kind = seq % 10
        if seq % 1000 == 0:
            return ArtifactEvent(run_id=rid, seq=seq, ts=ts, path=f"ckpt/{seq}.pt", size=seq)
        if seq % 500 == 0:
            phase = "started" if seq % 1000 else "finished"
            return StepEvent(run_id=rid, seq=seq, ts=ts, step=f"s{seq // 1000}", phase=phase)
        if kind < 4:
            category = (None, "epochs", "batches", "eval")[kind]
            return ProgressEvent(run_id=rid, seq=seq, ts=ts, current=seq, total=10**7,
                                 category=category)  # fmt: skip
        if kind < 7:
            return MetricsEvent(run_id=rid, seq=seq, ts=ts, values={"loss": 1 / seq})
        return LogEvent(run_id=rid, seq=seq, ts=ts, level="INFO", message=f"step {seq} done")

    def fill_long(self, upto: int) -> None:
        while self.long_seq < upto:
            end = min(upto, self.long_seq + BATCH)
            evs = [self._long_event(s) for s in range(self.long_seq + 1, end + 1)]
            self.store.write_batch([], evs)
            self.long_seq = end


def _field(name: str) -> bool:
    return name in {f.name for f in dataclasses.fields(RunFilter)}


def read_paths(store: RunStore, filler: Filler, size: int) -> dict[str, Callable[[], object]]:
    """The timed operations, by name."""
    deep = int(size * 0.9)
    ops: dict[str, Callable[[], object]] = {
        "list newest": lambda: store.list_runs(RunFilter(limit=50)),
        "list offset 90%": lambda: store.list_runs(RunFilter(limit=50, offset=deep)),
    }
    if _field("cursor"):
        # The page at 90% depth by keyset: the cursor is the run just before it.
        mark = store.list_runs(RunFilter(limit=1, offset=deep - 1))[0]
        cursor = (mark.created_at, mark.id)
        ops["list cursor 90%"] = lambda: store.list_runs(RunFilter(limit=50, cursor=cursor))
    failed = [RunStatus.FAILED]
    parent = store.list_runs(RunFilter(kind="pipeline", limit=1, offset=10))[0].id
    some = store.list_runs(RunFilter(limit=1, offset=size // 2))[0].id
    long_id = filler.long_id
    ops |= {
        "status=failed&plugin=p7": lambda: store.list_runs(RunFilter(status=failed, plugin="p7")),
        "status=failed": lambda: store.list_runs(RunFilter(status=failed)),
        "status=queued (sparse)": lambda: store.list_runs(
            RunFilter(status=[RunStatus.QUEUED], plugin="p3")
        ),
        "plugin=p7": lambda: store.list_runs(RunFilter(plugin="p7")),
        "action=a42": lambda: store.list_runs(RunFilter(action="a42")),
        "kind=pipeline": lambda: store.list_runs(RunFilter(kind="pipeline")),
        "parent=<pipeline>": lambda: store.list_runs(RunFilter(parent_id=parent)),
        "run by id": lambda: store.get_run(some),
        "run by prefix": lambda: store.get_run(some[:20]),
        "unknown id": lambda: _missing(store, "f" * 24),
        "unknown prefix": lambda: _missing(store, "0123456789"),
        "long: latest progress": lambda: store.latest_progress(long_id),
        "long: artifacts": lambda: store.events_of_type(
            long_id, ("artifact",), 100, newest_first=True
        ),
        "long: steps": lambda: store.events_of_type(long_id, ("step",), 1000),
        "long: count events": lambda: store.count_events(long_id),
        "long: last event page": lambda: store.events(long_id, filler.long_seq - 100, 100),
    }
    if hasattr(store, "event_counts"):
        ops["long: counts by type"] = lambda: store.event_counts(long_id)
    return ops


def _missing(store: RunStore, run_id: str) -> None:
    try:
        store.get_run(run_id)
    except Exception:  # RunNotFoundError
        return
    raise AssertionError(f"{run_id} found")


def cli(url: str, *args: str) -> tuple[float, float]:
    """Wall seconds (best of 3) and peak RSS (MB) of ``hoist <args>`` on the store."""
    env = {**os.environ, "HOIST_DATABASE_URL": url, "COLUMNS": "120"}
    best, peak = float("inf"), 0.0
    for _ in range(3):
        start = time.perf_counter()
        proc = subprocess.Popen([str(HOIST), *args], env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        best = min(best, time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss / 1024)
        if status:
            raise RuntimeError(f"hoist {' '.join(args)} failed ({status})")
    return best, peak


@contextmanager
def database(kind: str, pg_url: str) -> Iterator[str]:
    """A fresh store URL of ``kind``, removed afterwards."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="hoist-scale-")
        try:
            yield f"sqlite:///{folder}/runs.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    name = f"hoist_scale_{os.getpid()}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://{pg_url.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench(kind: str, args: argparse.Namespace) -> dict[int, dict[str, float]]:
    """Milliseconds of each operation at each size, on one database."""
    sizes = sorted(int(s) for s in args.sizes.split(","))
    out: dict[int, dict[str, float]] = {}
    with database(kind, args.pg_url) as url:
        store = RunStore(url)
        filler = Filler(store, sizes[-1])
        for size in sizes:
            start = time.perf_counter()
            filler.fill_runs(size)
            filler.fill_long(max(1000, args.long_events * size // sizes[-1]))
            if kind == "postgresql":
                with store.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
            fill = time.perf_counter() - start
            print(f"[{kind}] {size:,} runs, long run {filler.long_seq:,} events "
                  f"(filled in {fill:.0f} s)", flush=True)  # fmt: skip
            row: dict[str, float] = {}
            for name, fn in read_paths(store, filler, size).items():
                row[name] = best_per_op(fn, 1, args.repeat) * 1000
                print(f"  {name:28} {row[name]:9.2f} ms", flush=True)
            wall, rss = cli(url, "runs", "show", filler.long_id)
            row["hoist runs show <long>"], row["  its peak RSS (MB)"] = wall * 1000, rss
            wall, _ = cli(url, "runs", "list")
            row["hoist runs list"] = wall * 1000
            for name in ("hoist runs show <long>", "  its peak RSS (MB)", "hoist runs list"):
                print(f"  {name:28} {row[name]:9.1f}", flush=True)
            out[size] = row
        store.close()
    return out


def growth(kind: str, table: dict[int, dict[str, float]]) -> None:
    """Print each operation's figures smallest to largest and the ratio."""
    sizes = sorted(table)
    print(f"\n{kind}: ms (RSS in MB) at " + " → ".join(f"{s:,}" for s in sizes) + " runs")
    for name in table[sizes[0]]:
        values = [table[s][name] for s in sizes]
        ratio = values[-1] / values[0] if values[0] else float("inf")
        cells = " → ".join(f"{v:.2f}" for v in values)
        print(f"  {name:28} {cells:30}  x{ratio:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,200000", help="runs, comma-separated")
    parser.add_argument("--long-events", type=int, default=200_000,
                        help="the long run's events at the largest size")  # fmt: skip
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results: dict[str, Any] = {kind: bench(kind, args) for kind in kinds}
    for kind, table in results.items():
        growth(kind, table)


if __name__ == "__main__":
    main()
