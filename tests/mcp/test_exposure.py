"""``HOIST_MCP_EXPOSE``: agents see and use only the plugins and actions it names; every
other one (its tools, its runs, its resources, its prompts) is as if it did not exist."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.conftest import need_sdk

need_sdk()  # before what imports the SDK

from hoist.executors.plugin_runner import run_plugin  # noqa: E402
from hoist.mcp.tools import FIXED_TOOLS  # noqa: E402
from hoist.runs.runtime import Runtime  # noqa: E402
from tests.conftest import EXAMPLES  # noqa: E402
from tests.mcp.session import McpSession, server_env, stdio_client  # noqa: E402


@pytest.fixture
def hidden_runs(runtime: Runtime, plugin_paths: tuple[Path, ...], hoist: Any) -> list[str]:
    """Runs in the test's store of what the server will not expose: another plugin's
    action, another action of the exposed plugin (with an artifact), and a pipeline of
    the exposed plugin (whose ``count`` node is the exposed action: that run is not
    hidden)."""
    plugin = plugin_paths[0] / "mcptest"
    run_plugin(EXAMPLES / "text_stats", "word_count", {"text": "a b"})
    run_plugin(plugin, "report", {})
    assert hoist("pipeline", "run", str(plugin), "count_then_report", "--json").code == 0
    runtime.sink.flush()
    runs = runtime.store.list_runs()
    hidden = [r.id for r in runs if (r.plugin, r.action) != ("mcptest", "count")]
    assert len(runs) == 5 and len(hidden) == 4
    return hidden


@pytest.fixture
def exposed(
    hoist_home: Path, tmp_path: Path, plugin_paths: tuple[Path, ...], hidden_runs: list[str]
) -> Iterator[McpSession]:
    """A stdio server on the test's store exposing only ``mcptest.count``."""
    env = server_env(hoist_home, plugin_paths, HOIST_MCP_EXPOSE="mcptest.count")
    log = tmp_path / "server.log"
    with McpSession(stdio_client(env, log, tmp_path), "stdio (exposing)", log) as session:
        yield session


def test_only_the_exposed_action_is_offered(exposed: McpSession) -> None:
    from mcp.shared.exceptions import MCPError

    tools = exposed.tools()
    assert set(tools) - {t.name for t in FIXED_TOOLS} == {"mcptest__count"}
    (plugin,) = exposed.ok("list_plugins")["plugins"]
    assert plugin["code"] == "mcptest"
    assert [a["name"] for a in plugin["actions"]] == ["count"]
    for hidden in ("text_stats__word_count", "mcptest__report"):
        with pytest.raises(MCPError, match="no tool named"):
            exposed.call(hidden, {})
    for plugin_code, action in (("text_stats", "word_count"), ("mcptest", "report")):
        refused = exposed.refused("describe_action", {"plugin": plugin_code, "action": action})
        assert refused["status"] == 404 and "not exposed" in refused["detail"]
    pipeline = exposed.refused("run_pipeline", {"plugin": "sim_train", "pipeline": "train_flow"})
    assert pipeline["status"] == 404
    assert exposed.finished("mcptest__count", {"times": 1})["result"]["text"] == "hi"


def test_runs_of_what_is_not_exposed_are_hidden(
    exposed: McpSession, hidden_runs: list[str]
) -> None:
    from mcp.shared.exceptions import MCPError

    mine = exposed.finished("mcptest__count", {"times": 2})
    listed = [r["id"] for r in exposed.ok("list_runs", {"limit": 200})["runs"]]
    assert len(listed) == 2 and listed[0] == mine["id"]  # and the pipeline's count node
    assert exposed.refused("list_runs", {"plugin": "text_stats"})["status"] == 404
    for run_id in hidden_runs:
        for tool in ("get_run", "wait_run", "run_events", "cancel_run"):
            refused = exposed.refused(tool, {"run_id": run_id})
            assert refused["status"] == 404, tool
        for suffix in ("", "/events", "/files/artifacts/report.txt"):
            uri = f"hoist://runs/{run_id}{suffix}"
            with pytest.raises(MCPError) as refused:  # as if it did not exist
                exposed.read(uri)
            assert str(refused.value) == f"unknown resource '{uri}'"
        with pytest.raises(MCPError):
            exposed.prompt("investigate_run", {"run_id": run_id})
    with pytest.raises(MCPError):
        exposed.read("hoist://plugins/text_stats/config.yaml")
    uris = exposed.resources()
    assert f"hoist://runs/{mine['id']}" in uris
    assert not [u for u in uris if any(run_id in u for run_id in hidden_runs)]
    assert not [u for u in uris if "text_stats" in u]
    assert exposed.read_json(f"hoist://runs/{mine['id']}")["status"] == "succeeded"
    picked = exposed.prompt("pick_action", {"goal": "anything"})
    assert "mcptest__count" in picked and "text_stats" not in picked
