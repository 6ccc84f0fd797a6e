"""``ray_serve`` strategy benchmarks (issue 14): the same ``predict(inputs)`` served by the
strategy and by a hand-written raw Ray Serve deployment with the same tuned settings
(``max_ongoing_requests=100``, one replica, ``num_cpus=0.5``), on one private loopback Ray
head, through the same Serve HTTP proxy, measured in the same run.

- requests per second of ``POST …/predict`` (``wrk``, 32 connections; best of two rounds,
  alternating); target >= 0.95x raw Serve, and never Serve's default collapse (shown:
  raw Serve with its default ``max_ongoing_requests=5``). The raw deployment calls the
  sync ``predict`` on its event loop, as a hand-written ``async def __call__`` does; the
  strategy runs a sync callable on a thread by default (it may block), so it is also
  measured with ``sync_in_thread: false``, the raw deployment's way;
- deploy -> first successful response: ``RayServeRunner.start()`` and its first ``run``
  against raw ``serve.run`` (blocking until running) and polling ``POST …/predict`` until
  it answers (median of several, alternating); target <= 1.1x. Serve itself (controller
  and proxy) is started once, before both.

    .venv/bin/python benchmarks/bench_deploy_ray_serve.py
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _util import report  # type: ignore[import-not-found]

HOME = Path(tempfile.mkdtemp(prefix="hoist-bench-deploy-ray-serve-"))
os.environ["HOIST_HOME"] = str(HOME / "home")

from hoist.executors.ray.cluster import LOOPBACK_ENV, LocalRayCluster  # noqa: E402

os.environ.update(LOOPBACK_ENV)  # before Ray is imported: it reads them once

import httpx  # noqa: E402

from hoist.deployment.serving import delete_app, ensure_serve, serve_module  # noqa: E402
from hoist.deployment.strategies.ray_serve import RayServeRunner  # noqa: E402
from hoist.executors.ray.connect import disconnect  # noqa: E402

WRK_SECONDS = 8
ROUNDS = 2
CONCURRENCY = 32
STARTS = 5
NUM_CPUS = 0.5

MAIN = """
def predict(inputs):
    return {"y": inputs["x"] * 2}
"""

LUA = """
wrk.method = "POST"
wrk.body = '{"x": 21}'
wrk.headers["Content-Type"] = "application/json"
"""


def predict(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"y": inputs["x"] * 2}


class RawPredict:
    """What a Serve user writes by hand: the request's JSON in, the envelope out."""

    async def __call__(self, request: Any) -> dict[str, Any]:
        return {"status": "success", "output": predict(await request.json())}


def _wrk(url: str, seconds: int) -> float:
    """Requests per second of one ``wrk`` run (every answer must be a 2xx)."""
    script = HOME / "post.lua"
    script.write_text(LUA)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def _first_success(client: httpx.Client, url: str) -> None:
    while True:
        try:
            if client.post(url, json={"x": 1}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.005)


def _raw_start(base: str, name: str, max_ongoing: int = 100) -> tuple[str, float]:
    """Raw ``serve.run`` of :class:`RawPredict`; its URL and seconds to a good answer."""
    serve = serve_module()
    start = time.perf_counter()
    options = {"num_cpus": NUM_CPUS}
    deployment = serve.deployment(RawPredict, name="raw", max_ongoing_requests=max_ongoing,
                                  num_replicas=1, ray_actor_options=options)  # fmt: skip
    serve.run(deployment.bind(), name=name, route_prefix=f"/{name}")
    url = f"{base}/{name}/predict"
    with httpx.Client() as client:
        _first_success(client, url)
    return url, time.perf_counter() - start


def _ours_start(
    code: Path, address: str, name: str = "ours", **settings: Any
) -> tuple[RayServeRunner, str, float]:
    """Deploy with the strategy; the runner, its URL and seconds to its first success."""
    start = time.perf_counter()
    runner = RayServeRunner(code_path=str(code), address=address, app_name=name,
                            resources={"cpu": NUM_CPUS}, **settings)  # fmt: skip
    runner.start()
    if runner.run({"x": 1})["status"] != "success":
        raise RuntimeError(runner.get_logs())
    return runner, f"{runner.endpoint}/predict", time.perf_counter() - start


def startup(code: Path, base: str, address: str) -> tuple[float, float]:
    """Median seconds from deploy to first success: the strategy, raw serve.run."""
    ours, theirs = [], []
    for _ in range(STARTS):
        _, seconds = _raw_start(base, "raw")
        theirs.append(seconds)
        delete_app("raw")
        runner, _, seconds = _ours_start(code, address)
        ours.append(seconds)
        runner.stop()
    return statistics.median(ours), statistics.median(theirs)


def throughput(code: Path, base: str, address: str) -> tuple[float, float, float, float]:
    """Best requests per second: the strategy (its default: a sync predict on a thread),
    raw Serve tuned, raw Serve's default, the strategy with ``sync_in_thread: false``."""
    runner, ours_url, _ = _ours_start(code, address)
    inline, inline_url, _ = _ours_start(code, address, "inline", sync_in_thread=False)
    raw_url, _ = _raw_start(base, "raw")
    try:
        for url in (ours_url, inline_url, raw_url):
            _wrk(url, 1)
        ours, theirs, loop = [], [], []
        for _ in range(ROUNDS):
            theirs.append(_wrk(raw_url, WRK_SECONDS))
            ours.append(_wrk(ours_url, WRK_SECONDS))
            loop.append(_wrk(inline_url, WRK_SECONDS))
    finally:
        runner.stop()
        inline.stop()
        delete_app("raw")
    default_url, _ = _raw_start(base, "default", max_ongoing=5)
    try:
        default = _wrk(default_url, WRK_SECONDS)
    finally:
        delete_app("default")
    return max(ours), max(theirs), default, max(loop)


def main() -> None:
    code = HOME / "code"
    code.mkdir()
    (code / "main.py").write_text(MAIN)
    cluster = LocalRayCluster(num_cpus=2).start()
    try:
        base = ensure_serve(cluster.address)
        ours_start, raw_start = startup(code, base, cluster.address)
        ours_rps, raw_rps, default_rps, loop_rps = throughput(code, base, cluster.address)
    finally:
        disconnect()
        cluster.stop()
    report(
        [
            ("measure", "ray_serve strategy", "raw Ray Serve (tuned)", "ratio (target)"),
            (
                f"POST …/predict req/s (wrk -c{CONCURRENCY})",
                f"{ours_rps:,.0f}",
                f"{raw_rps:,.0f}",
                f"{ours_rps / raw_rps:.2f}x (>= 0.95x)",
            ),
            (
                "  the same, sync_in_thread: false",
                f"{loop_rps:,.0f}",
                f"{raw_rps:,.0f}",
                f"{loop_rps / raw_rps:.2f}x (>= 0.95x)",
            ),
            (
                "raw Serve, default max_ongoing_requests=5",
                "",
                f"{default_rps:,.0f}",
                f"strategy {ours_rps / default_rps:.1f}x of it",
            ),
            (
                "deploy -> first success (median)",
                f"{ours_start * 1000:.0f} ms",
                f"{raw_start * 1000:.0f} ms",
                f"{ours_start / raw_start:.2f}x (<= 1.1x)",
            ),
        ]
    )


if __name__ == "__main__":
    main()
