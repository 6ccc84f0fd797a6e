"""``process`` strategy benchmarks (issue 13): the same ``predict(inputs)`` served by the
strategy's server and by a plain FastAPI app on raw uvicorn, measured in the same run.

- requests per second of ``POST /predict`` (``wrk``, 32 connections; best of two rounds,
  alternating); target ≥ 0.9x the plain app;
- deploy → first successful response: ``ProcessRunner.start()`` and its first ``run``
  against starting ``uvicorn plain:app`` and polling ``POST /predict`` until it answers
  (median of several, alternating); target ≤ 1.1x.

Both servers run with the access log off and uvicorn's default loop and HTTP parser.

    .venv/bin/python benchmarks/bench_deploy_process.py
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import report  # type: ignore[import-not-found]

HOME = Path(tempfile.mkdtemp(prefix="hoist-bench-deploy-process-"))
os.environ["HOIST_HOME"] = str(HOME / "home")

import httpx  # noqa: E402

from hoist.deployment.strategies.process import ProcessRunner  # noqa: E402

WRK_SECONDS = 8
ROUNDS = 2
CONCURRENCY = 32
STARTS = 7

MAIN = """
def predict(inputs):
    return {"y": inputs["x"] * 2}
"""

PLAIN = """
from typing import Any

from fastapi import FastAPI

from main import predict

app = FastAPI()


@app.post("/predict")
def predict_route(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"status": "success", "output": predict(inputs)}
"""

LUA = """
wrk.method = "POST"
wrk.body = '{"x": 21}'
wrk.headers["Content-Type"] = "application/json"
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _plain_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "plain:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip


def _plain_start(code: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start the plain app; return it, its URL and seconds to its first good answer."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/predict"
    start = time.perf_counter()
    proc = subprocess.Popen(_plain_argv(port), cwd=code, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    with httpx.Client() as client:
        while True:
            try:
                if client.post(url, json={"x": 1}).status_code == 200:
                    return proc, url, time.perf_counter() - start
            except httpx.TransportError:
                time.sleep(0.005)
            if proc.poll() is not None:
                raise RuntimeError("the plain app exited")


def _process_start(code: Path) -> tuple[ProcessRunner, str, float]:
    """Deploy with the process strategy; return the runner, its URL and seconds to its
    first successful answer."""
    start = time.perf_counter()
    runner = ProcessRunner(code_path=str(code), log_level="warning")
    runner.start()
    if runner.run({"x": 1})["status"] != "success":
        raise RuntimeError(runner.get_logs())
    return runner, f"{runner.endpoint}/predict", time.perf_counter() - start


def throughput(code: Path) -> tuple[float, float]:
    """Best requests per second of the process strategy and of the plain app."""
    runner, process_url, _ = _process_start(code)
    plain, plain_url, _ = _plain_start(code)
    try:
        _wrk(process_url, 1)
        _wrk(plain_url, 1)
        ours, theirs = [], []
        for _ in range(ROUNDS):
            theirs.append(_wrk(plain_url, WRK_SECONDS))
            ours.append(_wrk(process_url, WRK_SECONDS))
    finally:
        runner.stop()
        plain.terminate()
        plain.wait(30)
    return max(ours), max(theirs)


def startup(code: Path) -> tuple[float, float]:
    """Median seconds from deploy to first success: the process strategy, raw uvicorn."""
    ours, theirs = [], []
    for _ in range(STARTS):
        plain, _, seconds = _plain_start(code)
        theirs.append(seconds)
        plain.terminate()
        plain.wait(30)
        runner, _, seconds = _process_start(code)
        ours.append(seconds)
        runner.stop()
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    code = HOME / "code"
    code.mkdir()
    (code / "main.py").write_text(MAIN)
    (code / "plain.py").write_text(PLAIN)
    ours_start, plain_start = startup(code)
    ours_rps, plain_rps = throughput(code)
    report(
        [
            ("measure", "process strategy", "plain FastAPI + uvicorn", "ratio (target)"),
            (
                f"POST /predict req/s (wrk -c{CONCURRENCY})",
                f"{ours_rps:,.0f}",
                f"{plain_rps:,.0f}",
                f"{ours_rps / plain_rps:.2f}x (>= 0.9x)",
            ),
            (
                "deploy -> first success (median)",
                f"{ours_start * 1000:.0f} ms",
                f"{plain_start * 1000:.0f} ms",
                f"{ours_start / plain_start:.2f}x (<= 1.1x)",
            ),
        ]
    )


if __name__ == "__main__":
    main()
