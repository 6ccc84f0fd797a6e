"""MCP benchmark: a no-op action called through the stdio transport, against the same
call through ``run_plugin`` in this process (both record the run in a SQLite store).

The MCP figure is the whole round trip an agent sees: the SDK's client writes the
``tools/call`` request to the server process's stdin, the server validates, launches
through the server's launcher, waits for the run's end and answers. Target: at most
2 ms over ``run_plugin``. The two are measured alternately, call by call, so a busy
machine slows both alike (this 2-core machine is often shared with a test run).

    .venv/bin/python benchmarks/bench_mcp.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import anyio
from _util import plugin_home, report  # type: ignore[import-not-found]

CALLS = 500
WARMUP = 30

FILES = {
    "config.yaml": (
        "name: Bench\ncode: bench\nversion: 0.1.0\ncategory: custom\n"
        "actions:\n  noop:\n    entrypoint: plugin.actions:noop\n    method: local\n"
    ),
    "plugin/__init__.py": "",
    "plugin/actions.py": (
        "from pydantic import BaseModel\nfrom hoist import action\n\n\n"
        "class NoopParams(BaseModel):\n    x: int = 1\n\n\n"
        "@action(params=NoopParams)\ndef noop(params, ctx):\n    return {'x': params.x}\n"
    ),
}


def timed(calls: list[float]) -> str:
    return f"median {statistics.median(calls) * 1e3:.2f} ms, best {min(calls) * 1e3:.2f} ms"


async def bench(root: Path) -> tuple[list[float], list[float], list[float]]:
    """MCP calls and ``run_plugin`` calls, alternately; then the SDK's floor."""
    from mcp.client.stdio import StdioServerParameters

    from hoist import run_plugin
    from mcp import Client

    env = {**os.environ, "HOIST_PLUGIN_PATHS": str(root.parent)}
    server = StdioServerParameters(command=sys.executable, args=["-m", "hoist.mcp"], env=env)
    calls, direct = [], []
    async with Client(server) as client:
        for _ in range(WARMUP):
            await client.call_tool("bench__noop", {"x": 2})
            run_plugin(root, "noop", {"x": 2})
        for _ in range(CALLS):
            start = time.perf_counter()
            result = await client.call_tool("bench__noop", {"x": 2})
            calls.append(time.perf_counter() - start)
            assert not result.is_error and (result.structured_content or {})["result"] == {"x": 2}
            start = time.perf_counter()
            assert run_plugin(root, "noop", {"x": 2}) == {"x": 2}
            direct.append(time.perf_counter() - start)
        floor = []
        for _ in range(CALLS):
            start = time.perf_counter()
            await client.list_prompts(cache_mode="bypass")
            floor.append(time.perf_counter() - start)
    return calls, direct, floor


def main() -> None:
    root = plugin_home(FILES, "hoist-bench-mcp-")
    mcp, direct, floor = anyio.run(bench, root)
    extra = statistics.median(mcp) - statistics.median(direct)
    report([
        ("what", "measured", "baseline", "difference / target"),
        ("no-op action through MCP stdio (call_tool)", timed(mcp),
         f"run_plugin: {timed(direct)}", f"+{extra * 1e3:.2f} ms (median); target <= 2 ms"),
        ("prompts/list over the same stdio (the SDK floor)", timed(floor), "-",
         "what any call costs before Hoist does anything"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
