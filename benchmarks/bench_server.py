"""Server benchmarks on a real ``hoist serve`` process: event latency from an action's
``set_progress`` to an SSE client, fan-out to 100 subscribers, and the CPU an idle open
stream costs.

Every figure is printed beside a baseline measured in the same run (a ``/health``
round trip, the server's CPU with no stream open), with the issue's target.

    .venv/bin/python benchmarks/bench_server.py
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
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
  ticker: {entrypoint: "plugin:ticker", method: local}
  idle: {entrypoint: "plugin:idle", method: local}
"""

CODE = """
import time
from pydantic import BaseModel
from hoist import RuntimeContext, action

class TickerParams(BaseModel):
    count: int = 200
    interval: float = 0.01
    delay: float = 0.0

@action(name="ticker", params=TickerParams)
def ticker(params: TickerParams, context: RuntimeContext) -> int:
    time.sleep(params.delay)  # lets every subscriber connect first: live deliveries only
    for i in range(params.count):
        context.set_progress(i + 1, params.count)
        time.sleep(params.interval)
    return params.count

class IdleParams(BaseModel):
    seconds: float = 10

@action(name="idle", params=IdleParams)
def idle(params: IdleParams, context: RuntimeContext) -> None:
    end = time.time() + params.seconds
    while time.time() < end and not context.is_cancelled():
        time.sleep(0.05)
"""

PASSWORD = "bench-admin-password"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _latencies(
    url: str, token: str, subscribers: int, count: int
) -> tuple[list[float], bool]:
    from hoist.client import AsyncHoistClient

    clients = [AsyncHoistClient(url, token) for _ in range(max(1, subscribers // 50))]
    try:
        params = {"count": count, "delay": 3.0}
        run_id = await clients[0].launch("bench", "ticker", params=params)
        gaps: list[float] = []

        async def follow(client: AsyncHoistClient) -> list[int]:
            seqs = []
            async for event in client.stream_events(run_id):
                seqs.append(event.seq)
                if event.type == "progress":
                    gaps.append(time.time() - event.ts)
            return seqs

        seen = await asyncio.gather(
            *(follow(clients[i % len(clients)]) for i in range(subscribers))
        )
        complete = all(s == seen[0] and s == list(range(1, len(s) + 1)) for s in seen)
        return gaps, complete
    finally:
        for client in clients:
            await client.close()


async def _idle_cpu(url: str, token: str, pid: int, streams: int, seconds: float) -> float:
    from hoist.client import AsyncHoistClient

    clients = [AsyncHoistClient(url, token) for _ in range(max(1, streams // 50))]
    try:
        run_id = await clients[0].launch("bench", "idle", params={"seconds": seconds + 30})
        tasks = [asyncio.create_task(_drain(clients[i % len(clients)], run_id))
                 for i in range(streams)]  # fmt: skip
        await asyncio.sleep(2.0)  # let every stream connect and replay
        start = _cpu_seconds(pid)
        await asyncio.sleep(seconds)
        used = _cpu_seconds(pid) - start
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await clients[0].cancel(run_id)
        return used / seconds
    finally:
        for client in clients:
            await client.close()


async def _drain(client: object, run_id: str) -> None:
    async for _ in client.stream_events(run_id):  # type: ignore[attr-defined]
        pass


def main() -> None:
    from hoist.client import HoistClient

    home = Path(tempfile.mkdtemp(prefix="hoist-bench-server-"))
    plugin = home / "plugins" / "bench"
    plugin.mkdir(parents=True)
    (plugin / "config.yaml").write_text(textwrap.dedent(PLUGIN))
    (plugin / "plugin.py").write_text(CODE)
    port = _port()
    env = {**os.environ, "HOIST_HOME": str(home), "HOIST_ADMIN_PASSWORD": PASSWORD,
           "HOIST_SERVER_PORT": str(port), "HOIST_PLUGIN_PATHS": str(home / "plugins")}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "hoist.cli", "serve", "--log-level", "warning"],
                            env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        with HoistClient(url) as client:
            for _ in range(300):
                try:
                    if client.ready():
                        break
                except Exception:
                    time.sleep(0.1)
            client.login("admin", PASSWORD)
            token = client.create_token("bench")["token"]
        with HoistClient(url, token) as client:
            rtts = []
            for _ in range(50):
                start = time.perf_counter()
                client.health()
                rtts.append(time.perf_counter() - start)
        rtt = statistics.median(rtts)
        rows = [("benchmark", "measured", "baseline (same run)", "ratio / target")]
        gaps, _ = asyncio.run(_latencies(url, token, 1, 300))
        rows.append((
            "set_progress -> SSE client, 1 subscriber (p50 / p95)",
            f"{_p(gaps, 0.5) * 1e3:.1f} / {_p(gaps, 0.95) * 1e3:.1f} ms",
            f"GET /health round trip {rtt * 1e3:.2f} ms",
            f"p95 {_p(gaps, 0.95) / rtt:.0f}x RTT; target p95 <= 50 ms",
        ))  # fmt: skip
        gaps, complete = asyncio.run(_latencies(url, token, 100, 100))
        rows.append((
            "set_progress -> SSE, 100 subscribers (p50 / p95)",
            f"{_p(gaps, 0.5) * 1e3:.1f} / {_p(gaps, 0.95) * 1e3:.1f} ms",
            f"{len(gaps)} deliveries",
            f"every subscriber got every event: {complete}",
        ))  # fmt: skip
        base = asyncio.run(_idle_cpu(url, token, proc.pid, 0, 5.0))
        idle = asyncio.run(_idle_cpu(url, token, proc.pid, 100, 5.0))
        rows.append((
            "server CPU with 100 idle open streams",
            f"{idle * 100:.1f}% of a core",
            f"no stream open {base * 100:.1f}%",
            f"+{(idle - base) * 100:.1f} points; target: almost none",
        ))  # fmt: skip
        report(rows)
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
