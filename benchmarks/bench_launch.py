"""Launch throughput with ``wrk``: ``POST /api/v1/runs`` of a no-op action on a real
``hoist serve`` process, beside a plain FastAPI endpoint on uvicorn that only inserts a
row into SQLite (the baseline), measured in the same run on this machine.

Both servers run one uvicorn worker (``hoist serve`` runs one process) with the same
uvicorn options; ``wrk`` drives each with the same connections, threads, duration and a
Lua script that sets the POST body and headers (the bearer token for Hoist).

    .venv/bin/python benchmarks/bench_launch.py [--seconds 10] [--connections 32]

Needs Debian's ``wrk`` (``apt-get install wrk``). Target: Hoist >= 0.5x the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _util import report  # type: ignore[import-not-found]

PLUGIN = """
name: Bench
code: bench
actions:
  noop: {entrypoint: "plugin:noop", method: local}
"""

CODE = """
from pydantic import BaseModel
from hoist import RuntimeContext, action

class NoopParams(BaseModel):
    n: int = 0

@action(name="noop", params=NoopParams)
def noop(params: NoopParams, context: RuntimeContext) -> int:
    return params.n
"""

# The baseline: parse the same JSON body, insert one row (WAL, synchronous=NORMAL as the
# run store does), answer 202 with an id. One connection per worker thread.
BASELINE = """
import sqlite3, threading, time, uuid
from typing import Any
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

DB = {db!r}
local = threading.local()

def conn() -> sqlite3.Connection:
    c = getattr(local, "conn", None)
    if c is None:
        c = local.conn = sqlite3.connect(DB, isolation_level=None, timeout=30)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
    return c

with sqlite3.connect(DB) as setup:
    setup.execute("CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, plugin TEXT, "
                  "action TEXT, params TEXT, created_at REAL)")

class Launch(BaseModel):
    plugin: str
    action: str
    params: dict[str, Any] = {{}}

app = FastAPI()

@app.post("/api/v1/runs", status_code=202)
def launch(body: Launch) -> dict[str, str]:
    run_id = uuid.uuid4().hex
    c = conn()
    c.execute("BEGIN")
    c.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
              (run_id, body.plugin, body.action, str(body.params), time.time()))
    c.execute("COMMIT")
    return {{"run_id": run_id}}

uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", ws="none")
"""

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""

PASSWORD = "bench-admin-password"
BODY = json.dumps({"plugin": "bench", "action": "noop", "params": {"n": 1}})


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, path: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {proc.returncode}")
        try:
            httpx.get(url + path, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the server at {url} did not start")


def _wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, int, int]:
    """Requests/s, total requests and non-2xx answers of one ``wrk`` run."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         url + "/api/v1/runs"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, total, int(bad.group(1)) if bad else 0


def _script(folder: Path, name: str, token: str | None) -> Path:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path = folder / f"{name}.lua"
    path.write_text(textwrap.dedent(LUA.format(body=json.dumps(BODY), auth=auth)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    from hoist.client import HoistClient

    home = Path(tempfile.mkdtemp(prefix="hoist-bench-launch-"))
    plugin = home / "plugins" / "bench"
    plugin.mkdir(parents=True)
    (plugin / "config.yaml").write_text(textwrap.dedent(PLUGIN))
    (plugin / "plugin.py").write_text(CODE)
    hoist_port, base_port = _port(), _port()
    env = {**os.environ, "HOIST_HOME": str(home), "HOIST_ADMIN_PASSWORD": PASSWORD,
           "HOIST_SERVER_PORT": str(hoist_port),
           "HOIST_PLUGIN_PATHS": str(home / "plugins")}  # fmt: skip
    env.pop("HOIST_DATABASE_URL", None)
    baseline_py = home / "baseline.py"
    baseline_py.write_text(BASELINE.format(db=str(home / "baseline.db"), port=base_port))
    hoist_url, base_url = f"http://127.0.0.1:{hoist_port}", f"http://127.0.0.1:{base_port}"
    rows = [("benchmark", "measured", "baseline (same run)", "ratio / target")]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # One server at a time, so neither competes with the other for the two cores.
        base = subprocess.Popen([sys.executable, str(baseline_py)], stderr=subprocess.DEVNULL)
        procs.append(base)
        _wait_ready(base_url, "/docs", base)
        base_script = _script(home, "baseline", None)
        _wrk(base_url, base_script, 2, args.connections)  # warm-up
        base_rate, base_total, base_bad = _wrk(base_url, base_script, args.seconds,
                                               args.connections)  # fmt: skip
        base.terminate()
        base.wait(30)

        server = subprocess.Popen(
            [sys.executable, "-m", "hoist.cli", "serve", "--log-level", "warning"],
            env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(server)
        _wait_ready(hoist_url, "/api/v1/health", server)
        with HoistClient(hoist_url) as client:
            client.login("admin", PASSWORD)
            token = client.create_token("bench")["token"]
        hoist_script = _script(home, "hoist", token)
        _wrk(hoist_url, hoist_script, 2, args.connections)  # warm-up
        rate, total, bad = _wrk(hoist_url, hoist_script, args.seconds, args.connections)
        with HoistClient(hoist_url, token) as client:  # every launched run really ran
            deadline = time.monotonic() + 120
            while client.list_runs(status=["queued", "running"], limit=1):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            failed = len(client.list_runs(status=["failed", "lost"], limit=500))
        rows.append((
            f"POST /api/v1/runs (no-op action), {args.connections} conns, {args.seconds}s",
            f"{rate:,.0f} launches/s ({total} runs, {bad} non-2xx, {failed} failed)",
            f"FastAPI + SQLite insert {base_rate:,.0f} req/s ({base_total}, {base_bad} non-2xx)",
            f"{rate / base_rate:.2f}x; target >= 0.5x",
        ))  # fmt: skip
        report(rows)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
