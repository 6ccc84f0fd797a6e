"""``bentoml`` strategy benchmarks (issue 14): the same generated BentoML service served by
the strategy (``BentoMLRunner``) and by a raw ``bentoml serve`` run by hand, in one run.

- requests per second of ``POST /predict`` (``wrk``, 32 connections; best of two rounds,
  alternating); target >= 0.95x raw ``bentoml serve``;
- deploy -> first successful response: ``BentoMLRunner.start()`` (project generated on a
  copy of the code, server started, ``/readyz`` waited for) and its first ``run``, against
  starting raw ``bentoml serve`` of the already generated project and polling
  ``POST /predict`` until it answers (median of several, alternating); target <= 1.1x.

Both use the engine's ``bentoml`` of ``.engines/bentoml`` (``make engines``), one worker,
BentoML's access log off (the strategy's default); the raw server's output goes to
/dev/null, the strategy's to its log file.

    .venv/bin/python benchmarks/bench_deploy_bentoml.py
"""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import report  # type: ignore[import-not-found]

HOME = Path(tempfile.mkdtemp(prefix="hoist-bench-deploy-bentoml-"))
os.environ["HOIST_HOME"] = str(HOME / "home")

import httpx  # noqa: E402

from hoist.deployment.strategies.bentoml import BentoMLRunner  # noqa: E402
from hoist.deployment.strategies.bentoml.build import write_project  # noqa: E402

BENTOML = Path(__file__).resolve().parents[1] / ".engines" / "bentoml" / "bin" / "bentoml"
WRK_SECONDS = 8
ROUNDS = 2
CONCURRENCY = 32
STARTS = 3

MAIN = """
def predict(inputs):
    return {"y": inputs["x"] * 2}
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


def _raw_start(project: Path, service: str) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start raw ``bentoml serve`` of the generated project; return it, its URL and the
    seconds to its first good answer."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/predict"
    argv = [str(BENTOML), "serve", service, "--host", "127.0.0.1", "--port", str(port),
            "--working-dir", str(project)]  # fmt: skip
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=project, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    with httpx.Client() as client:
        while True:
            try:
                if client.post(url, json={"x": 1}).status_code == 200:
                    return proc, url, time.perf_counter() - start
            except httpx.TransportError:
                time.sleep(0.02)
            if proc.poll() is not None:
                raise RuntimeError("raw bentoml serve exited")


def _raw_stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _strategy_start(code: Path) -> tuple[BentoMLRunner, str, float]:
    """Deploy with the strategy; return the runner, its URL and seconds to its first
    successful answer."""
    start = time.perf_counter()
    runner = BentoMLRunner(code_path=str(code), command=str(BENTOML), resources={"cpu": "1"})
    runner.start()
    if runner.run({"x": 1})["status"] != "success":
        raise RuntimeError(runner.get_logs())
    return runner, f"{runner.endpoint}/predict", time.perf_counter() - start


def throughput(code: Path, project: Path, service: str) -> tuple[float, float]:
    """Best requests per second of the strategy and of raw ``bentoml serve``."""
    runner, ours_url, _ = _strategy_start(code)
    raw, raw_url, _ = _raw_start(project, service)
    try:
        _wrk(ours_url, 1)
        _wrk(raw_url, 1)
        ours, theirs = [], []
        for _ in range(ROUNDS):
            theirs.append(_wrk(raw_url, WRK_SECONDS))
            ours.append(_wrk(ours_url, WRK_SECONDS))
    finally:
        runner.stop()
        _raw_stop(raw)
    return max(ours), max(theirs)


def startup(code: Path, project: Path, service: str) -> tuple[float, float]:
    """Median seconds from deploy to first success: the strategy, raw ``bentoml serve``."""
    ours, theirs = [], []
    for _ in range(STARTS):
        raw, _, seconds = _raw_start(project, service)
        theirs.append(seconds)
        _raw_stop(raw)
        runner, _, seconds = _strategy_start(code)
        ours.append(seconds)
        runner.stop()
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    if not BENTOML.exists():
        sys.exit(f"{BENTOML} is missing: run `make engines`")
    code = HOME / "code"
    code.mkdir()
    (code / "main.py").write_text(MAIN)
    # raw: the very service the strategy generates, generated once, served by hand
    options = {"timeout": 300.0, "workers": 1, "access_log": False, "resources": {"cpu": "1"}}
    project = write_project(code, HOME / "raw", name="code", module="main",
                            callable="predict", options=options)  # fmt: skip
    ours_start, raw_start = startup(code, project.folder, project.service)
    ours_rps, raw_rps = throughput(code, project.folder, project.service)
    report(
        [
            ("measure", "bentoml strategy", "raw bentoml serve", "ratio (target)"),
            (
                f"POST /predict req/s (wrk -c{CONCURRENCY})",
                f"{ours_rps:,.0f}",
                f"{raw_rps:,.0f}",
                f"{ours_rps / raw_rps:.2f}x (>= 0.95x)",
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
