"""Start-up of the ``hoist`` CLI (issue 19 part 5): wall time of ``hoist runs list`` and
``hoist runs show`` on a small local store, against ``python -c pass`` and ``hoist
--version`` measured in the same run (best and median of ``--repeat`` runs each, the
commands interleaved so a busy machine slows them alike, after a warm-up run that caches
the bytecode). Target: ``runs list`` and ``runs show`` in <= 150 ms wall.

    .venv/bin/python benchmarks/bench_cli.py                  # 20 runs of each
    .venv/bin/python benchmarks/bench_cli.py --repeat 50 --runs 2000
    .venv/bin/python -X importtime -m hoist.cli runs list 2> imports.txt   # what remains

The store is filled through its own batch writer (``bench_scale.Filler``: a mix of
statuses, pipelines with children, one long run) in a fresh ``HOIST_HOME``; the CLI runs
as ``python -m hoist.cli`` with this interpreter, so it measures the source on its path.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scale import Filler  # type: ignore[import-not-found]
from bench_scale_api import server  # type: ignore[import-not-found]

from hoist.runs.store.store import RunStore

TARGET_MS = 150.0


def fill(home: Path, runs: int, long_events: int) -> str:
    """A store of ``runs`` runs and a run of ``long_events`` events in ``home``; returns
    the long run's id."""
    store = RunStore(f"sqlite:///{home / 'hoist.db'}")
    try:
        filler = Filler(store, runs)
        filler.fill_runs(runs)
        filler.fill_long(long_events)
        return str(filler.long_id)
    finally:
        store.close()


def timings(
    commands: dict[str, list[str]], env: dict[str, str], repeat: int
) -> dict[str, list[float]]:
    """Wall seconds of each command, ``repeat`` times, interleaved."""
    out: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=False)
            out[name].append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"{name}: exit code {proc.returncode}")
    return out


def main() -> None:
    """Fill a store, time the commands and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of each command")
    parser.add_argument("--runs", type=int, default=500, help="runs in the store")
    parser.add_argument("--long-events", type=int, default=2000, help="events of the long run")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hoist-bench-cli-"))
    try:
        long_id = fill(home, args.runs, args.long_events)
        env = {**os.environ, "HOIST_HOME": str(home), "COLUMNS": "120"}
        for name in ("HOIST_DATABASE_URL", "HOIST_SERVER_URL", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)  # bytecode cached, as an installed hoist has it
        hoist = [sys.executable, "-m", "hoist.cli"]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "hoist --version": [*hoist, "--version"],
            "hoist runs list": [*hoist, "runs", "list"],
            "hoist runs show <long>": [*hoist, "runs", "show", long_id],
        }
        timings(commands, env, 1)  # warm-up: writes the bytecode, fills the page cache
        found = timings(commands, env, args.repeat)
        # The same reads through a server (``hoist serve`` on this store): the CLI's
        # client (httpx, pydantic to validate what it receives) instead of the store.
        with server(f"sqlite:///{home / 'hoist.db'}") as (api, _):
            remote = {**env, "HOIST_SERVER_URL": str(api.base_url).rstrip("/"),
                      "HOIST_TOKEN": api.headers["Authorization"].split()[1]}  # fmt: skip
            through = {
                "hoist runs list (server)": [*hoist, "runs", "list"],
                "hoist runs show (server)": [*hoist, "runs", "show", long_id],
            }
            timings(through, remote, 1)
            found |= timings(through, remote, args.repeat)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print(f"{args.runs} runs, a run of {args.long_events} events; {args.repeat} runs each; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    base = min(found["python -c pass"])
    version = min(found["hoist --version"])
    print(f"{'command':26}{'best ms':>9}{'median ms':>11}{'- python':>10}{'- --version':>13}")
    for name, walls in found.items():
        best = min(walls)
        mark = ""
        if name.startswith("hoist runs"):
            mark = "  ok" if best * 1000 <= TARGET_MS else f"  > {TARGET_MS:.0f} ms target"
        print(f"{name:26}{best * 1000:9.1f}{statistics.median(walls) * 1000:11.1f}"
              f"{(best - base) * 1000:10.1f}{(best - version) * 1000:13.1f}{mark}")  # fmt: skip


if __name__ == "__main__":
    main()
