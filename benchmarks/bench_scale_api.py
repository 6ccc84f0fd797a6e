"""The timings of a filled store (issue 19), for ``bench_scale``: the store's reads in
process, ``hoist runs show``/``list`` as processes, the API's reads and the panel's run
page over HTTP from a real ``hoist serve`` process on the store; then each figure's
growth, and the "done means" table that holds them to their limits and to 2x their
figure at the smallest size.

Not run by itself: ``bench_scale.py`` fills the stores and calls :func:`measure`, then
:func:`growth` and :func:`done_means`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from _util import best_per_op  # type: ignore[import-not-found, unused-ignore]

from hoist._net import free_port
from hoist.runs.models import RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.store.store import RunStore

REPO = Path(__file__).resolve().parent.parent
HOIST = REPO / ".venv" / "bin" / "hoist"
PASSWORD = "bench-scale-password-1"
API = "/api/v1/runs"
CLI_SHOW, CLI_RSS = "hoist runs show <long>", "  its peak RSS (MB)"
PAGE, PARTS = "panel: run page <long>", "panel: its /parts"
API_MS, PAGE_MS, SHOW_MS, SHOW_MB = 20.0, 100.0, 1000.0, 100.0


@dataclasses.dataclass(frozen=True)
class Targets:
    """What the reads look for: the page at 90% depth, a pipeline, a run half way."""

    cursor: tuple[float, str]
    parent: str
    some: str


def targets(store: RunStore, size: int) -> Targets:
    mark = store.list_runs(RunFilter(limit=1, offset=int(size * 0.9) - 1))[0]
    parent = store.list_runs(RunFilter(kind="pipeline", limit=1, offset=10))[0].id
    some = store.list_runs(RunFilter(limit=1, offset=size // 2))[0].id
    return Targets((mark.created_at, mark.id), parent, some)


def read_paths(
    store: RunStore, filled: Any, t: Targets, size: int
) -> dict[str, Callable[[], object]]:
    """The timed operations of the store, by name."""
    deep = int(size * 0.9)
    failed = [RunStatus.FAILED]
    long_id = filled.long_id
    return {
        "list newest": lambda: store.list_runs(RunFilter(limit=50)),
        "list offset 90%": lambda: store.list_runs(RunFilter(limit=50, offset=deep)),
        "list cursor 90%": lambda: store.list_runs(RunFilter(limit=50, cursor=t.cursor)),
        "status=failed&plugin=p7": lambda: store.list_runs(RunFilter(status=failed, plugin="p7")),
        "status=failed": lambda: store.list_runs(RunFilter(status=failed)),
        "status=queued (sparse)": lambda: store.list_runs(
            RunFilter(status=[RunStatus.QUEUED], plugin="p3")
        ),
        "plugin=p7": lambda: store.list_runs(RunFilter(plugin="p7")),
        "action=a42": lambda: store.list_runs(RunFilter(action="a42")),
        "kind=pipeline": lambda: store.list_runs(RunFilter(kind="pipeline")),
        "parent=<pipeline>": lambda: store.list_runs(RunFilter(parent_id=t.parent)),
        "run by id": lambda: store.get_run(t.some),
        "run by prefix": lambda: store.get_run(t.some[:20]),
        "unknown id": lambda: _missing(store, "f" * 24),
        "unknown prefix": lambda: _missing(store, "0123456789"),
        "long: latest progress": lambda: store.latest_progress(long_id),
        "long: artifacts": lambda: store.events_of_type(
            long_id, ("artifact",), 100, newest_first=True
        ),
        "long: steps": lambda: store.events_of_type(long_id, ("step",), 1000),
        "long: count events": lambda: store.count_events(long_id),
        "long: counts by type": lambda: store.event_counts(long_id),
        "long: last event page": lambda: store.events(long_id, filled.long_seq - 100, 100),
    }


def _missing(store: RunStore, run_id: str) -> None:
    try:
        store.get_run(run_id)
    except Exception:  # RunNotFoundError
        return
    raise AssertionError(f"{run_id} found")


def measure(kind: str, url: str, filled: Any, repeat: int) -> dict[str, float]:
    """Milliseconds of each operation on a filled store: the store's reads, the CLI's
    and the API's (a ``hoist serve`` process on it)."""
    print(f"[{kind}] {filled.runs:,} runs, {filled.events:,} events, "
          f"long run {filled.long_seq:,} events", flush=True)  # fmt: skip
    store = RunStore(url)
    try:
        # The running runs are alive, as their workers would say, an hour ahead: no
        # reader ends them meanwhile (`hoist runs` reaps runs silent for 15 s).
        live = RunFilter(status=[RunStatus.RUNNING], limit=filled.runs + 1)
        store.heartbeat([r.id for r in store.list_runs(live)], time.time() + 3600)
        aims = targets(store, filled.runs)
        row: dict[str, float] = {}
        for name, fn in read_paths(store, filled, aims, filled.runs).items():
            row[name] = best_per_op(fn, 1, repeat) * 1000
            print(f"  {name:32} {row[name]:9.2f} ms", flush=True)
    finally:
        store.close()
    return row | cli_timings(url, filled.long_id) | api_timings(url, filled, aims, repeat)


def cli(url: str, *args: str) -> tuple[float, float]:
    """Wall seconds (best of 3) and peak RSS (MB) of ``hoist <args>`` on the store."""
    env = {**os.environ, "HOIST_DATABASE_URL": url, "COLUMNS": "120"}
    for name in ("HOIST_SERVER_URL", "HOIST_TOKEN"):
        env.pop(name, None)  # the store itself, not a server
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


def cli_timings(url: str, long_id: str) -> dict[str, float]:
    """``hoist runs show`` of the long run (ms and peak RSS) and ``hoist runs list``."""
    row: dict[str, float] = {}
    wall, rss = cli(url, "runs", "show", long_id)
    row[CLI_SHOW], row[CLI_RSS] = wall * 1000, rss
    row["hoist runs list"] = cli(url, "runs", "list")[0] * 1000
    for name, value in row.items():
        print(f"  {name:32} {value:9.1f}", flush=True)
    return row


@contextmanager
def server(url: str) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """``hoist serve`` on the store at ``url`` (a process on a free loopback port, its
    upkeep held off so it changes nothing: no run is reaped), and two clients of it: one
    with an API token, one logged in to the panel. The process is stopped at the end."""
    home = Path(tempfile.mkdtemp(prefix="hoist-scale-serve-"))
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(home), "HOIST_DATABASE_URL": url,
           "HOIST_ADMIN_PASSWORD": PASSWORD, "HOIST_SERVER_PORT": str(port),
           "HOIST_PLUGIN_PATHS": str(home), "HOIST_STALE_AFTER": "1e9",
           "HOIST_MAINTENANCE_INTERVAL": "86400"}  # fmt: skip
    errors = (home / "serve.err").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hoist.cli", "serve", "--log-level", "warning"],
        env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=errors,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    clients: list[httpx.Client] = []
    try:
        _wait_ready(proc, base, home / "serve.err")
        from hoist.client import HoistClient

        with HoistClient(base) as admin:
            admin.login("admin", PASSWORD)
            token = admin.create_token("bench-scale")["token"]
        api = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})
        page = httpx.Client(base_url=base, timeout=60)
        clients += [api, page]
        form = page.get("/login").text  # the login form's token (login CSRF)
        csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        data = {"username": "admin", "password": PASSWORD, "csrf_token": csrf}
        if page.post("/login", data=data).status_code != 303:
            raise RuntimeError("the panel's login failed")
        yield api, page
    finally:
        for client in clients:
            client.close()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors.close()
        shutil.rmtree(home, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen[bytes], base: str, errors: Path) -> None:
    """Until the server answers ``/ready`` (opening a big store may migrate it first)."""
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hoist serve exited: {errors.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("hoist serve was not ready in 30 minutes")


def api_paths(filled: Any, aims: Any) -> dict[str, tuple[str, int]]:
    """The timed requests, by name: their path and the status they must answer."""
    cursor = quote(f"{aims.cursor[0]!r}~{aims.cursor[1]}")  # as a page's `next` is
    some, long_id = aims.some, filled.long_id
    after = max(0, filled.long_seq - 100)
    return {
        "api: list newest": (f"{API}?limit=50", 200),
        "api: list cursor 90%": (f"{API}?limit=50&cursor={cursor}", 200),
        "api: status=failed&plugin=p7": (f"{API}?status=failed&plugin=p7", 200),
        "api: status=failed": (f"{API}?status=failed", 200),
        "api: status=queued&plugin=p3": (f"{API}?status=queued&plugin=p3", 200),
        "api: plugin=p7": (f"{API}?plugin=p7", 200),
        "api: action=a42": (f"{API}?action=a42", 200),
        "api: kind=pipeline": (f"{API}?kind=pipeline", 200),
        "api: parent=<pipeline>": (f"{API}?parent={aims.parent}", 200),
        "api: run by id": (f"{API}/{some}", 200),
        "api: run by prefix (20)": (f"{API}/{some[:20]}", 200),
        "api: run by short id (8)": (f"{API}/{some[-8:]}", 200),
        "api: unknown id": (f"{API}/{'f' * 24}", 404),
        "api: unknown prefix": (f"{API}/0123456789", 404),
        "api: long: last event page": (f"{API}/{long_id}/events?after={after}&limit=100", 200),
        PAGE: (f"/runs/{long_id}", 200),
        PARTS: (f"/runs/{long_id}/parts", 200),
    }


def api_timings(url: str, filled: Any, aims: Any, repeat: int) -> dict[str, float]:
    """Milliseconds (best of ``repeat``, one keep-alive connection) of each request of
    :func:`api_paths` to a ``hoist serve`` on the store; a short id the API does not
    take is left out."""
    row: dict[str, float] = {}
    with server(url) as (api, page):
        for name, (path, status) in api_paths(filled, aims).items():
            client = page if name.startswith("panel") else api
            answer = client.get(path)  # also warms the database's pages
            if "short id" in name and answer.status_code != 200:
                print(f"  {name:32} (not taken: {answer.status_code})", flush=True)
                continue
            if answer.status_code != status:
                raise RuntimeError(f"GET {path}: {answer.status_code}, not {status}")

            def get(path: str = path, client: httpx.Client = client) -> None:
                client.get(path)

            row[name] = best_per_op(get, 1, repeat) * 1000
            print(f"  {name:32} {row[name]:9.2f} ms", flush=True)
    return row


def growth(kind: str, table: dict[int, dict[str, float]]) -> None:
    """Print each operation's figures smallest to largest and the ratio."""
    sizes = sorted(table)
    print(f"\n{kind}: ms (RSS in MB) at " + " → ".join(f"{s:,}" for s in sizes) + " runs")
    for name in table[sizes[0]]:
        values = [table[s].get(name, float("nan")) for s in sizes]
        ratio = values[-1] / values[0] if values[0] else float("inf")
        cells = " → ".join(f"{v:.2f}" for v in values)
        print(f"  {name:32} {cells:30}  x{ratio:.1f}")


def _limit(name: str) -> float:
    if name.startswith("api:"):
        return API_MS
    if name.startswith("panel:"):
        return PAGE_MS
    return {CLI_SHOW: SHOW_MS, CLI_RSS: SHOW_MB}[name]


def done_means(kind: str, table: dict[int, dict[str, float]]) -> None:
    """Issue 19's "done means", on one database: each figure at the smallest and the
    largest size, their ratio, and whether it meets its limit and stays within 2x."""
    small, large = min(table), max(table)
    print(f"\n{kind}: done means (at {small:,} → {large:,} runs)")
    print(f"  {'':32} {'small':>9} {'large':>9} {'ratio':>6}  {'limit':>12}  2x")
    names = [
        n for n in table[large] if n.startswith(("api:", "panel:")) or n in (CLI_SHOW, CLI_RSS)
    ]
    misses = 0
    for name in names:
        a, b = table[small].get(name, float("nan")), table[large][name]
        ratio, limit = b / a, _limit(name)
        unit = "MB" if name == CLI_RSS else "ms"
        met, flat = ("ok" if b <= limit else "MISS"), ("ok" if ratio <= 2 else "MISS")
        misses += (met, flat).count("MISS")
        print(
            f"  {name:32} {a:9.2f} {b:9.2f} {ratio:5.1f}x  {met:>4} <= {limit:<4g} {unit}  {flat}"
        )
    print(f"  {'all met' if not misses else f'{misses} MISS'}")
