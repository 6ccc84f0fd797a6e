"""Issue 19 at scale: a store is filled through its own batch writer
(``RunStore.write_batch``) to each size (20 plugins, 100 actions, a mix of statuses,
pipelines with children, ~10 events a run in all: status, progress, log lines, metrics,
steps, outputs; one long run whose log grows with the store), then timed on SQLite and
PostgreSQL (best of ``--repeat``): the store's reads, ``hoist runs show``/``list`` as
processes, and the API's reads and the panel's run page over HTTP from a ``hoist serve``
process (``bench_scale_api``). Printed last: each figure's growth from the smallest size
to the largest, and issue 19's "done means" table.

    .venv/bin/python benchmarks/bench_scale.py                          # 10k, 200k runs
    .venv/bin/python benchmarks/bench_scale.py --db sqlite              # one database only
    # fill once (slow, in the background), time later on a quiet machine, as often as needed:
    nice -n 19 .venv/bin/python benchmarks/bench_scale.py --keep /work/scale \
        --sizes 10000,1000000 --long-events 1000000 --fill-only
    .venv/bin/python benchmarks/bench_scale.py --keep /work/scale --sizes 10000,1000000 \
        --long-events 1000000

Stores: without ``--keep``, one temporary store per database grows through the sizes and
is removed at the end. With ``--keep DIR``, each size has its own store filled to exactly
that size (``DIR/runs-<size>.db``; PostgreSQL database ``hoist_scale_<size>``), reused
once its fill completed (marker ``DIR/<db>-<size>.done``: runs, events, the long run's id
and events); an unfinished one is filled again from scratch. PostgreSQL: ``--pg-url``
(default ``postgresql://postgres@127.0.0.1:5432/test``) names the server and a database
to connect to. Before timing, the running runs get a heartbeat an hour ahead, as live
workers would keep them: no reader reaps them, so timing changes no kept store.

Target (issue 19): every list filter, any page depth, a run by id or prefix and an
unknown id in <= 20 ms over the API; the run page of the long run in <= 100 ms; ``hoist
runs show`` of it in <= 1 s and <= 100 MB; each within 2x its figure at the smallest size.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from bench_scale_api import (  # type: ignore[import-not-found, unused-ignore]
    done_means,
    growth,
    measure,
)

from hoist.runs.models import (
    ArtifactEvent,
    EventBase,
    LogEvent,
    MetricsEvent,
    OutputEvent,
    ProgressEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.store.store import RunStore

YEAR = 365 * 86400.0
BATCH = 5000
TAG = 0x5CA1E00
STATUSES = (
    [RunStatus.SUCCEEDED] * 80 + [RunStatus.FAILED] * 12 + [RunStatus.CANCELLED] * 4
    + [RunStatus.LOST] * 2 + [RunStatus.RUNNING] * 1 + [RunStatus.QUEUED] * 1
)  # fmt: skip
QUEUED = STATUSES.count(RunStatus.QUEUED)


def run_id(ms: int, n: int) -> str:
    """An id of :func:`~hoist.runs.models.new_run_id`'s shape for time ``ms``, number ``n``."""
    return f"{ms:012x}{TAG + (n >> 20):07x}{n & 0xFFFFF:05x}"


class Filler:
    """Adds runs (oldest first, spread over a year) and the long run's events.

    A run gets ``per_run`` events on average (3 to 15 around it): its status, progress,
    log lines and metrics, a step or two when it has many, an output for one in four and
    its ending; a queued run none. ``events`` counts them (the long run's aside).
    """

    def __init__(self, store: RunStore, max_runs: int, per_run: float = 9.0) -> None:
        self.store = store
        self.start = time.time() - YEAR
        self.step = YEAR / max_runs
        self.per_run = per_run * len(STATUSES) / (len(STATUSES) - QUEUED)  # queued: none
        self.spread = max(0, min(6, int(per_run) - 3))
        self.count = 0
        self.events = 0
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
        if status is RunStatus.QUEUED:
            return [run], []
        count = int((n + 1) * self.per_run) - int(n * self.per_run)
        if self.spread:
            count += (n * 7919) % (2 * self.spread + 1) - self.spread
        ending = status.is_terminal
        evs = self._events(rid, n, max(1, count - ending), created, status)
        if ending:
            evs.append(StatusEvent(run_id=rid, seq=len(evs) + 1, ts=created + 5, status=status))
        self.events += len(evs)
        return [run], evs

    @staticmethod
    def _events(rid: str, n: int, m: int, created: float, status: RunStatus) -> list[EventBase]:
        """Its status ``running`` and ``m - 1`` more: progress, log lines and metrics in
        turn, inside a step or two when there are many, an output last for some."""
        evs: list[EventBase] = []

        def add(event_type: type[EventBase], **fields: Any) -> None:
            seq = len(evs) + 1
            evs.append(event_type(run_id=rid, seq=seq, ts=created + 1 + seq / 5, **fields))

        add(StatusEvent, status=RunStatus.RUNNING)
        output = n % 4 == 0 and m >= 4
        steps = 2 if m >= 12 else 1 if m >= 6 else 0
        plain = m - 1 - output - 2 * steps
        bars, failed = (plain + 2) // 3, status is RunStatus.FAILED
        parts = max(steps, 1)
        done = 0
        for s in range(parts):
            if steps:
                add(StepEvent, step=f"stage{s}", phase="started")
            chunk = plain // parts + (s < plain % parts)
            for i in range(done, done + chunk):
                if i % 3 == 0:
                    add(ProgressEvent, current=i // 3 + 1, total=bars)
                elif i % 3 == 1:
                    level = "ERROR" if failed and i + 3 >= plain else "INFO"
                    add(LogEvent, level=level, message=f"batch {i} of {n}: loss {1 / (i + 2):.4f}")
                else:
                    add(MetricsEvent, values={"loss": 1 / (i + 2), "acc": i / (plain + 1)})
            done += chunk
            if steps:
                add(StepEvent, step=f"stage{s}", phase="finished")
        if output:
            add(OutputEvent, format="markdown", body=f"**run {n}**: {plain} batches")
        return evs

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
            phase: Literal["started", "finished"] = "started" if seq % 1000 else "finished"
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


@dataclasses.dataclass(frozen=True)
class Filled:
    """What a filled store holds: its runs and events (the long run's included)."""

    runs: int
    events: int
    long_id: str
    long_seq: int


def _pg_store(pg_url: str, name: str) -> str:
    return f"postgresql+psycopg://{pg_url.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"


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
        yield _pg_store(pg_url, name)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def kept(kind: str, size: int, args: argparse.Namespace, *, fresh: bool) -> str:
    """The URL of the kept store of ``size`` runs; emptied first when ``fresh`` (what an
    unfinished fill left is dropped)."""
    if kind == "sqlite":
        path = Path(args.keep) / f"runs-{size}.db"
        for end in ("", "-wal", "-shm", "-journal"):
            if fresh:
                Path(f"{path}{end}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"hoist_scale_{size}"
    if fresh:
        import psycopg

        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    return _pg_store(args.pg_url, name)


def fill(kind: str, store: RunStore, filler: Filler, runs: int, long: int) -> None:
    """Fill to ``runs`` runs and the long run to ``long`` events, printing the rate."""
    start, events = time.perf_counter(), filler.events + filler.long_seq
    steps: list[tuple[Callable[[int], None], int, Callable[[], int]]] = [
        (filler.fill_runs, runs, lambda: filler.count),
        (filler.fill_long, long, lambda: filler.long_seq),
    ]
    for step, upto, done in steps:
        while done() < upto:
            step(min(upto, done() + max(BATCH, upto // 20)))
            took = time.perf_counter() - start
            added = filler.events + filler.long_seq - events
            rate = f"{added:,} events in {took:.0f} s ({added / took:,.0f}/s)"
            print(
                f"[{kind}] {filler.count:,} runs, long run {filler.long_seq:,}: {rate}", flush=True
            )
    if kind == "postgresql":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def filled_of(filler: Filler) -> Filled:
    total = filler.events + filler.long_seq
    return Filled(filler.count, total, filler.long_id, filler.long_seq)


def kept_filled(
    kind: str, size: int, args: argparse.Namespace, per_run: float, long: int
) -> tuple[str, Filled]:
    """The kept store of ``size`` runs, filled now unless a fill of it completed before
    (its marker ``<kind>-<size>.done`` holds what it holds)."""
    marker = Path(args.keep) / f"{kind}-{size}.done"
    if marker.exists():
        filled = Filled(**json.loads(marker.read_text()))
        print(f"[{kind}] {size:,} runs: kept store, filled before ({filled.events:,} events)")
        return kept(kind, size, args, fresh=False), filled
    url = kept(kind, size, args, fresh=True)
    store = RunStore(url)
    try:
        filler = Filler(store, size, per_run)
        fill(kind, store, filler, size, long)
    finally:
        store.close()
    filled = filled_of(filler)
    marker.write_text(json.dumps(dataclasses.asdict(filled)))
    return url, filled


def bench(kind: str, args: argparse.Namespace) -> dict[int, dict[str, float]]:
    """Milliseconds of each operation at each size, on one database."""
    sizes = sorted(int(s) for s in args.sizes.split(","))
    per_run = max(3.0, 10 - args.long_events / sizes[-1])  # ~10 events a run in all

    def long_of(size: int) -> int:
        return int(max(1000, args.long_events * size // sizes[-1]))

    out: dict[int, dict[str, float]] = {}
    if args.keep:
        for size in sizes:
            url, filled = kept_filled(kind, size, args, per_run, long_of(size))
            if not args.fill_only:
                out[size] = measure(kind, url, filled, args.repeat)
        return out
    with database(kind, args.pg_url) as url:
        store = RunStore(url)
        try:
            filler = Filler(store, sizes[-1], per_run)
            for size in sizes:
                fill(kind, store, filler, size, long_of(size))
                out[size] = measure(kind, url, filled_of(filler), args.repeat)
        finally:
            store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,200000", help="runs, comma-separated")
    parser.add_argument("--long-events", type=int, default=200_000,
                        help="the long run's events at the largest size")  # fmt: skip
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="kept stores, one a size, filled once")
    parser.add_argument("--fill-only", action="store_true", help="fill the kept stores, no timing")
    args = parser.parse_args()
    if args.fill_only and not args.keep:
        parser.error("--fill-only needs --keep")
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results: dict[str, Any] = {kind: bench(kind, args) for kind in kinds}
    if args.fill_only:
        return
    for kind, table in results.items():
        growth(kind, table)
    for kind, table in results.items():
        done_means(kind, table)


if __name__ == "__main__":
    main()
