"""The commands that serve MCP, as real processes: ``hoist mcp`` over stdio with its
options (``--plugins``, ``--expose``); ``hoist mcp --transport http``, the MCP server alone
over streamable HTTP with the store's accounts (a token ``hoist tokens create`` made
works); and ``hoist serve``, which serves it at ``/mcp`` beside the API."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from hoist._net import free_port
from tests.conftest import EXAMPLES, HOIST
from tests.mcp.conftest import need_sdk
from tests.mcp.session import McpSession, http_client, stdio_command
from tests.server.conftest import wait_served
from tests.waiting import wait_until

need_sdk()


def _answering(proc: subprocess.Popen[Any], url: str, log: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"hoist mcp exited ({proc.returncode}): {log.read_text()}")
    try:
        with httpx.Client(timeout=5) as http:
            return http.post(url, json={}).status_code == 401
    except httpx.TransportError:
        return False


def test_standalone_http_server_takes_the_stores_tokens(
    hoist: Any, hoist_home: Path, plugin_paths: tuple[Path, ...], tmp_path: Path
) -> None:
    assert hoist("users", "create", "agent", "--role", "operator").code == 0
    created = hoist("tokens", "create", "agent")
    assert created.code == 0, created.err
    token = created.out.split()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    log = tmp_path / "server.log"
    env = {**os.environ, "HOIST_HOME": str(hoist_home)}
    with log.open("w") as errors:
        proc = subprocess.Popen(
            [*HOIST, "mcp", "--transport", "http", "--port", str(port),
             "--plugins", str(plugin_paths[0]), "--log-level", "warning"],
            env=env, stdout=errors, stderr=errors,
        )  # fmt: skip
    try:
        wait_until(lambda: _answering(proc, url, log), timeout=60, what="hoist mcp (http)")
        with McpSession(http_client(url, token), "hoist mcp (http)") as session:
            tools = session.tools()
            assert "mcptest__count" in tools and "text_stats__word_count" not in tools
            run = session.finished("mcptest__count", {"word": "web", "times": 2})
            assert run["result"] == {"text": "web web", "length": 7}
    finally:
        proc.terminate()
        proc.wait(30)
    assert f"http://127.0.0.1:{port}/mcp" in log.read_text()
    assert token not in log.read_text()


def test_hoist_mcp_over_stdio_takes_its_options(
    hoist_home: Path, plugin_paths: tuple[Path, ...], tmp_path: Path
) -> None:
    args = [*HOIST[1:], "mcp", "--plugins", str(plugin_paths[0]), "--plugins", str(EXAMPLES),
            "--expose", "mcptest.count", "--expose", "text_stats"]  # fmt: skip
    log = tmp_path / "server.log"
    connect = stdio_command(HOIST[0], args, {"HOIST_HOME": str(hoist_home)}, log, tmp_path)
    with McpSession(connect, "hoist mcp", log) as session:
        actions = {name for name in session.tools() if "__" in name}
        assert actions == {"mcptest__count", "text_stats__analyze", "text_stats__word_count"}
        run = session.finished("text_stats__word_count", {"text": "one two two"})
        assert run["result"] == {"words": 3, "distinct": 2}


def test_hoist_serve_serves_mcp_beside_the_api(
    hoist: Any, hoist_home: Path, plugin_paths: tuple[Path, ...]
) -> None:
    assert hoist("users", "create", "viewer-1", "--role", "viewer").code == 0
    token = hoist("tokens", "create", "viewer-1").out.split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "HOIST_SERVER_PORT": str(port),
           "HOIST_ADMIN_PASSWORD": "admin-test-password-1"}  # fmt: skip
    proc = subprocess.Popen(
        [*HOIST, "serve", "--plugins", str(plugin_paths[0]), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_served(proc, base)
        with McpSession(http_client(f"{base}/mcp", token), "hoist serve /mcp") as session:
            tools = session.tools()
            assert "get_run" in tools and "mcptest__count" not in tools  # a viewer
            assert session.refused("mcptest__count", {})["status"] == 403
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"MCP at {base}/mcp" in err
