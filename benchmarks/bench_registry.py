"""Registering services never slows the server: a real ``hoist serve`` process started
with no services, then with 30 ``--register`` URLs of which 10 do not answer (5 ports
nobody listens on, 5 sockets that accept and never answer) and 20 are a live ServeAPI
app. Measured each way: start-up (process start to ``/api/v1/ready``), and the latency
of ``GET /api/v1/services`` and ``GET /api/v1/runs`` (p50/p95 of 200 calls, taken while
the silent services' reads are still hanging and being retried).

The figures with no services are the baseline; the issue's target is a ratio of ~1
(the list of 30 costs what serialising 30 services costs: it answers from the store,
never from the services).

    .venv/bin/python benchmarks/bench_registry.py
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from _util import report  # type: ignore[import-not-found]

PASSWORD = "bench-admin-password-1"
CALLS = 200


def _socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def _service() -> Iterator[str]:
    """A ServeAPI app with one endpoint on uvicorn in a thread; its base URL."""
    import uvicorn

    from hoist.services import Launch, ServeAPI
    from hoist.services import forms as F

    app = ServeAPI(title="Bench service")

    @app.enter("/", model=F.Model(F.InputText("name", "Name")), summary="Bench")
    async def enter(request: Any, inputs: dict[str, Any]) -> Any:
        return Launch(request, "builtins:print", inputs=inputs)

    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    sock = _socket()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def _serve(register: list[str]) -> Iterator[tuple[httpx.Client, float]]:
    """``hoist serve`` on a fresh home; a logged-in client and the start-up seconds."""
    home = tempfile.mkdtemp(prefix="bench-registry-")
    port = _socket().getsockname()[1]
    env = {**os.environ, "HOIST_HOME": home, "HOIST_ADMIN_PASSWORD": PASSWORD}
    args = [sys.executable, "-m", "hoist.cli", "serve", "--port", str(port), "--log-level",
            "warning"]  # fmt: skip
    for url in register:
        args += ["--register", url]
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, timeout=30)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hoist serve exited ({proc.returncode})")
            with contextlib.suppress(httpx.TransportError):
                if http.get("/api/v1/ready").status_code == 200:
                    break
            time.sleep(0.005)
        startup = time.perf_counter() - started
        login = http.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        login.raise_for_status()
        yield http, startup
    finally:
        http.close()
        proc.terminate()
        proc.wait(30)


def _latency(http: httpx.Client, path: str) -> tuple[float, float]:
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        http.get(path).raise_for_status()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95)]


def _measure(register: list[str]) -> dict[str, Any]:
    with _serve(register) as (http, startup):
        listed = http.get("/api/v1/services").json()
        out: dict[str, Any] = {"startup": startup, "listed": len(listed)}
        out["services"] = _latency(http, "/api/v1/services")
        out["runs"] = _latency(http, "/api/v1/runs")
        statuses = [s["status"] for s in http.get("/api/v1/services").json()]
        out["statuses"] = {s: statuses.count(s) for s in sorted(set(statuses))}
    return out


def main() -> None:
    os.environ.setdefault("HOIST_HOME", str(Path(tempfile.mkdtemp(prefix="bench-svc-"))))
    silent = [_socket() for _ in range(5)]
    for sock in silent:
        sock.listen(64)  # accepts, never answers
    refused = [_socket() for _ in range(5)]
    refused_ports = [s.getsockname()[1] for s in refused]
    for sock in refused:
        sock.close()  # nobody listens there now
    with _service() as base:
        urls = [f"{base}/openapi.json?copy={i}" for i in range(20)]
        urls += [f"http://127.0.0.1:{s.getsockname()[1]}/openapi.json" for s in silent]
        urls += [f"http://127.0.0.1:{p}/openapi.json" for p in refused_ports]
        _measure([])  # warm-up: the first start pays for cold imports
        none = _measure([])
        some = _measure(urls)
    for sock in silent:
        sock.close()

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    print(f"30 services registered at start-up: {some['listed']} listed at once, "
          f"statuses while measuring {some['statuses']}")  # fmt: skip
    rows = [("what", "with 30 (10 silent)", "with none", "ratio (target ~1)")]
    rows.append(("start-up to ready", ms(some["startup"]), ms(none["startup"]),
                 f"{some['startup'] / none['startup']:.2f}"))  # fmt: skip
    for key, label in (("services", "GET /api/v1/services"), ("runs", "GET /api/v1/runs")):
        for i, q in enumerate(("p50", "p95")):
            rows.append((f"{label} {q}", ms(some[key][i]), ms(none[key][i]),
                         f"{some[key][i] / none[key][i]:.2f}"))  # fmt: skip
    report(rows)


if __name__ == "__main__":
    main()
