"""Service benchmarks (issue 11): a trivial ``ServeAPI`` service behind a real uvicorn
server, launched over HTTP, and the same entry point on a warm Ray pool.

Every figure is printed beside a baseline measured in the same run:

- launch → result stored (p50): a plain FastAPI endpoint that calls the same function
  and answers its result (one HTTP round trip, nothing recorded);
- executions completed per second: the plain endpoint's requests per second, with the
  same client and concurrency;
- memory per running execution: bare asyncio tasks waiting on the same event;
- Ray pool launch → result stored (p50): a raw call of a warm Ray actor.

    .venv/bin/python benchmarks/bench_services.py
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _util import report  # type: ignore[import-not-found]

HOME = Path(tempfile.mkdtemp(prefix="hoist-bench-services-"))
os.environ["HOIST_HOME"] = str(HOME)
from hoist.executors.ray.cluster import LOOPBACK_ENV  # noqa: E402

os.environ.update(LOOPBACK_ENV)  # before Ray is imported: it reads them once

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402

from hoist import forms as F  # noqa: E402
from hoist.errors import RunNotFoundError  # noqa: E402
from hoist.runs.models import Run, RunKind, new_run_id  # noqa: E402
from hoist.runs.reader import RunFilter  # noqa: E402
from hoist.runs.runtime import get_runtime  # noqa: E402
from hoist.services import Launch, ServeAPI  # noqa: E402
from hoist.services.execution import Execution  # noqa: E402
from hoist.services.pool import ServicePool  # noqa: E402

LATENCY_LAUNCHES = 200
WRK_SECONDS = 10
CONCURRENCY = 32
AWAITING = 1000
EVERY_RUN = RunFilter(kind="service", limit=1_000_000)


async def trivial(inputs: dict[str, Any]) -> int:
    """The service's whole work: add one."""
    return int(inputs["n"]) + 1


_gate = threading.Event()


async def parked(inputs: dict[str, Any]) -> int:
    """Waits (holding no thread) until the benchmark lets every execution go."""
    while not _gate.is_set():
        await asyncio.sleep(0.05)
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: Any) -> tuple[uvicorn.Server, str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.01)
    return server, url


def service_app() -> ServeAPI:
    app = ServeAPI(title="bench", max_concurrency=64, max_queued=10_000)
    form = F.Model(F.InputNumber(label="n", name="n", value="1"))

    @app.enter("/", model=form, summary="Add one")
    async def enter(request: Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, trivial, inputs=inputs)

    return app


def plain_app() -> FastAPI:
    app = FastAPI()

    @app.post("/")
    async def add(body: dict[str, Any]) -> dict[str, int]:
        return {"result": await trivial(body)}

    return app


def _wait_ended(store: Any, run_id: str) -> None:
    while True:
        try:
            if store.get_run(run_id).status.is_terminal:
                return
        except RunNotFoundError:  # not written yet
            pass
        time.sleep(0.0005)


def latency(url: str, plain_url: str) -> tuple[float, float]:
    store = get_runtime().store
    launches, plain = [], []
    with httpx.Client() as http:
        for i in range(LATENCY_LAUNCHES):
            start = time.perf_counter()
            run_id = http.post(url + "/", json={"n": i}).json()["run_id"]
            _wait_ended(store, run_id)
            launches.append(time.perf_counter() - start)
            start = time.perf_counter()
            http.post(plain_url + "/", json={"n": i}).raise_for_status()
            plain.append(time.perf_counter() - start)
    return statistics.median(launches), statistics.median(plain)


SERVICE_APP = """
from typing import Any
from fastapi import Request
from hoist import forms as F
from hoist.services import Launch, ServeAPI

app = ServeAPI(title="bench", max_concurrency=64, max_queued={max_queued})

async def trivial(inputs: dict[str, Any]) -> int:
    return int(inputs["n"]) + 1

@app.enter("/", model=F.Model(F.InputNumber(label="n", name="n", value="1")))
async def enter(request: Request, inputs: dict[str, Any]) -> Any:
    return Launch(request, "bench_service_app:trivial", inputs=inputs)
"""

PLAIN_APP = """
from typing import Any
import uvicorn
from fastapi import FastAPI

app = FastAPI()

async def trivial(inputs: dict[str, Any]) -> int:
    return int(inputs["n"]) + 1

@app.post("/")
async def add(body: dict[str, Any]) -> dict[str, int]:
    return {{"result": await trivial(body)}}

uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
"""

LUA = """
wrk.method = "POST"
wrk.body = '{"n": 1}'
wrk.headers["Content-Type"] = "application/json"
"""


def _wrk(url: str, seconds: int) -> tuple[int, int]:
    """Total requests and non-2xx answers of one ``wrk`` run."""
    script = HOME / "post.lua"
    script.write_text(LUA)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "-s", str(script), url + "/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return total, int(bad.group(1)) if bad else 0


def _started(argv: list[str], url: str, cwd: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, cwd=cwd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/openapi.json", timeout=2)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{argv} did not start")


def throughput(max_queued: int) -> tuple[float, float, int, int]:
    """Executions completed per second (a service process under ``wrk``), the plain
    endpoint's requests per second, and the service's accepted and refused launches."""
    folder = HOME / f"apps-{max_queued}"
    folder.mkdir()
    (folder / "bench_service_app.py").write_text(SERVICE_APP.format(max_queued=max_queued))
    port = _free_port()
    (folder / "plain.py").write_text(PLAIN_APP.format(port=port))
    url = f"http://127.0.0.1:{port}"
    plain = _started([sys.executable, "plain.py"], url, folder)
    try:
        _wrk(url, 1)
        plain_total, _ = _wrk(url, WRK_SECONDS)
    finally:
        plain.terminate()
        plain.wait(30)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    hoist = [sys.executable, "-m", "hoist.cli", "service", "run", "bench_service_app:app",
             "--port", str(port), "--log-level", "warning"]  # fmt: skip
    service = _started(hoist, url, folder)
    store = get_runtime().store
    try:
        before = {r.id for r in store.list_runs(EVERY_RUN)}
        start = time.perf_counter()
        total, refused = _wrk(url, WRK_SECONDS)
        accepted = total - refused
        deadline = time.monotonic() + 600
        while True:  # every accepted launch recorded and ended (the queue drains)
            runs = [r for r in store.list_runs(EVERY_RUN) if r.id not in before]
            if len(runs) >= accepted and all(r.status.is_terminal for r in runs):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(runs)} of {accepted} accepted launches recorded")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
    finally:
        service.terminate()
        service.wait(30)
    # wrk counts answers; up to one request per connection was cut off at the end.
    assert accepted <= len(runs) <= accepted + CONCURRENCY  # nothing refused was recorded
    assert all(r.status.value == "succeeded" for r in runs)  # and every one ran
    accepted = len(runs)
    return accepted / elapsed, plain_total / WRK_SECONDS, accepted, refused


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def memory() -> tuple[float, float]:
    """MB per awaiting execution on a pool, and per bare task awaiting the same."""
    pool = ServicePool(max_concurrency=AWAITING, max_queued=0, name="bench-memory")
    store = get_runtime().store
    _gate.clear()
    gc.collect()
    before = _rss_mb()
    ids = []
    for _ in range(AWAITING):
        run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service")
        pool.start(Execution(run, parked, {}))
        ids.append(run.id)
    get_runtime().sink.flush()
    while any(store.get_run(i).status.value != "running" for i in ids[-10:]):
        time.sleep(0.01)
    per_execution = (_rss_mb() - before) / AWAITING
    _gate.set()
    for run_id in ids:
        _wait_ended(store, run_id)
    pool.close()

    async def bare() -> float:
        event = asyncio.Event()
        gc.collect()
        start = _rss_mb()
        tasks = [asyncio.create_task(event.wait()) for _ in range(AWAITING)]
        await asyncio.sleep(0.1)
        used = (_rss_mb() - start) / AWAITING
        event.set()
        await asyncio.gather(*tasks)
        return used

    return per_execution, asyncio.run(bare())


def ray_latency() -> tuple[float, float] | None:
    try:
        import ray
    except ImportError:
        return None
    from hoist.executors.ray.cluster import LocalRayCluster
    from hoist.services.ray_pool import RayServicePool

    with LocalRayCluster(num_cpus=2) as cluster:
        os.environ["HOIST_RAY_ADDRESS"] = cluster.address
        ray.init(address=cluster.address, namespace="bench", log_to_driver=False)
        pool = RayServicePool(get_runtime(), address=cluster.address, name="bench-ray")
        store = get_runtime().store
        samples = []
        for i in range(60):
            run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service")
            start = time.perf_counter()
            pool.start(Execution(run, trivial, {"n": i}))
            _wait_ended(store, run.id)
            if i >= 10:  # the first ones warm the actors up
                samples.append(time.perf_counter() - start)
        pool.close()

        @ray.remote(num_cpus=0)
        class Echo:
            def add(self, n: int) -> int:
                return n + 1

        echo = Echo.remote()  # type: ignore[attr-defined]
        ray.get(echo.add.remote(0))
        raw = []
        for i in range(60):
            start = time.perf_counter()
            ray.get(echo.add.remote(i))
            raw.append(time.perf_counter() - start)
        ray.shutdown()
    return statistics.median(samples), statistics.median(raw)


def main() -> None:
    service, url = _serve(service_app())
    plain, plain_url = _serve(plain_app())
    p50, plain_p50 = latency(url, plain_url)
    service.should_exit = plain.should_exit = True
    rate, plain_rate, _, _ = throughput(max_queued=100_000)
    bounded, _, accepted, refused = throughput(max_queued=64)
    per_execution, per_task = memory()
    rows = [
        ("what", "measured", "baseline", "ratio / target"),
        (
            "launch → result stored, p50",
            f"{p50 * 1e3:.1f} ms",
            f"{plain_p50 * 1e3:.1f} ms plain FastAPI call",
            f"{p50 / plain_p50:.1f}x / ≤ 20 ms",
        ),
        (
            "executions completed per second",
            f"{rate:.0f}/s",
            f"{plain_rate:.0f}/s plain FastAPI requests (wrk)",
            f"{rate / plain_rate:.2f}x / ≥ 200/s",
        ),
        (
            "with a 64-deep queue: accepted / refused (429)",
            f"{accepted} / {refused}",
            f"{bounded:.0f}/s completed",
            "every accepted launch ran",
        ),
        (
            "memory per awaiting execution",
            f"{per_execution * 1024:.1f} KB",
            f"{per_task * 1024:.1f} KB bare asyncio task",
            "≤ 5 MB",
        ),
    ]
    ray_figures = ray_latency()
    if ray_figures is not None:
        ray_p50, raw = ray_figures
        rows.append(
            (
                "Ray pool launch → result stored, p50",
                f"{ray_p50 * 1e3:.1f} ms",
                f"{raw * 1e3:.2f} ms raw Ray actor call",
                f"{ray_p50 / raw:.0f}x / ≤ 300 ms",
            )
        )
    report(rows)


if __name__ == "__main__":
    main()
