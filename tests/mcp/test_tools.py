"""The tools over both transports: one per action with its params schema, validation
errors that leave the session working, results, progress notifications, cancelling."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.conftest import need_sdk

need_sdk()  # before what imports the SDK

from hoist.executors.plugin_runner import run_plugin  # noqa: E402
from hoist.mcp.tools import FIXED_TOOLS, tool_name  # noqa: E402
from hoist.runs.models import RunStatus  # noqa: E402
from hoist.runs.runtime import Runtime  # noqa: E402
from hoist.server.catalog import PluginCatalog, describe_action  # noqa: E402
from tests.mcp.conftest import http_session, live_mcp  # noqa: E402
from tests.mcp.session import McpSession, server_env, stdio_client  # noqa: E402
from tests.server.conftest import server_settings  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

FIXED = {tool.name for tool in FIXED_TOOLS}


def test_each_action_tool_takes_the_actions_params_schema(
    mcp: McpSession, plugin_paths: tuple[Path, ...]
) -> None:
    tools = mcp.tools()
    assert set(tools) >= FIXED
    catalog = PluginCatalog(plugin_paths)
    expected = {
        tool_name(plugin.code, name): describe_action(plugin, name)
        for plugin in catalog.plugins()
        for name in plugin.action_names()
    }
    assert set(tools) - FIXED == set(expected)
    assert {"mcptest__count", "text_stats__word_count", "detect_shapes__train"} <= set(expected)
    for name, described in expected.items():
        assert tools[name].input_schema == described["params_schema"], name
        plugin, action = name.split("__")
        told = mcp.ok("describe_action", {"plugin": plugin, "action": action})
        assert told["params_schema"] == described["params_schema"]
        assert told["tool"] == name
    plugin = catalog.get("mcptest")
    schema = plugin.load_action("count").params_model.model_json_schema()
    assert tools["mcptest__count"].input_schema == schema
    assert schema["properties"]["times"]["maximum"] == 10
    assert tools["mcptest__count"].annotations.read_only_hint is False
    assert tools["get_run"].annotations.read_only_hint is True


def test_bad_params_name_the_field_and_the_session_goes_on(mcp: McpSession) -> None:
    wrong_type = mcp.refused("mcptest__count", {"word": "yo", "times": "many"})
    assert wrong_type["status"] == 422
    assert list(wrong_type["errors"]) == ["times"]
    assert "integer" in wrong_type["errors"]["times"][0]
    out_of_bounds = mcp.refused("mcptest__count", {"word": "", "times": 11})
    assert out_of_bounds["status"] == 422
    assert out_of_bounds["errors"]["times"] == ["must be <= 10"]
    assert "word" in out_of_bounds["errors"]
    missing = mcp.refused("mcptest__steps", {})
    assert "gates" in missing["errors"]
    bad_argument = mcp.refused("get_run", {"run_id": "../etc"})
    assert "run_id" in bad_argument["errors"]
    # Still answering: a good call after the bad ones.
    run = mcp.finished("mcptest__count", {"word": "yo", "times": 2})
    assert run["status"] == "succeeded"
    assert run["result"] == {"text": "yo yo", "length": 5}


def test_unknown_tool_is_a_protocol_error_and_the_session_goes_on(mcp: McpSession) -> None:
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError, match="no tool named"):
        mcp.call("mcptest__nothing", {})
    assert "list_plugins" in mcp.tools()


def test_an_action_tool_answers_the_runs_result(mcp: McpSession) -> None:
    run = mcp.finished("mcptest__count", {"word": "ab", "times": 3})
    assert run["status"] == "succeeded" and run["ended"] is True
    assert run["result"] == {"text": "ab ab ab", "length": 8}
    assert run["params"] == {"word": "ab", "times": 3}
    assert (run["plugin"], run["action"]) == ("mcptest", "count")
    assert run["resource"] == f"hoist://runs/{run['id']}"
    assert mcp.ok("get_run", {"run_id": run["id"]})["result"] == run["result"]
    assert mcp.ok("get_run", {"run_id": run["id"][:16]})["id"] == run["id"]  # a prefix
    listed = mcp.ok("list_runs", {"plugin": "mcptest", "limit": 200})["runs"]
    assert run["id"] in [r["id"] for r in listed]
    plugins = {p["code"]: p for p in mcp.ok("list_plugins")["plugins"]}
    actions = {a["name"]: a["tool"] for a in plugins["mcptest"]["actions"]}
    assert actions["count"] == "mcptest__count"


def test_a_long_action_reports_progress_to_the_caller(mcp: McpSession, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    seen: list[tuple[float, float | None, str | None]] = []

    async def opening(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))
        (gates / str(int(done))).touch()  # the action goes on to its next step

    result = mcp.run(lambda c: c.call_tool("mcptest__steps", {"gates": str(gates), "steps": 4},
                                           progress_callback=opening))  # fmt: skip
    assert not result.is_error, result.structured_content
    run: dict[str, Any] = result.structured_content
    assert run["ended"] is True and run["status"] == "succeeded"
    assert run["result"] == {"steps": 4}
    done = [d for d, _, _ in seen]
    assert done == sorted(set(done)), seen  # increasing
    assert {1.0, 2.0, 3.0, 4.0} <= set(done)
    assert {total for _, total, _ in seen} == {4.0}
    events = mcp.ok("run_events", {"run_id": run["id"], "types": ["progress"]})["events"]
    assert len(events) >= 4


@pytest.fixture(params=["stdio", "http"])
def short_wait(request: pytest.FixtureRequest) -> Iterator[McpSession]:
    """A session whose action tools answer after 0.2 s (``HOIST_MCP_CALL_WAIT``): the
    shared one over stdio, a fresh server over HTTP (as an operator)."""
    if request.param == "stdio":
        yield request.getfixturevalue("short_wait_stdio")
        return
    hoist_home = request.getfixturevalue("hoist_home")
    plugin_paths = request.getfixturevalue("plugin_paths")
    settings = server_settings(hoist_home, plugin_paths=plugin_paths, mcp_call_wait=0.2)
    with live_mcp(settings) as live, http_session(live, live.token("operator")) as session:
        yield session


def test_cancel_a_run_started_by_a_tool(short_wait: McpSession, tmp_path: Path) -> None:
    gates = tmp_path / "never"
    gates.mkdir()
    started = short_wait.ok("mcptest__steps", {"gates": str(gates), "steps": 3})
    assert started["ended"] is False
    assert started["status"] in ("queued", "running")
    assert started["id"] in started["next"]
    run_id = started["id"]
    wait_until(lambda: short_wait.ok("get_run", {"run_id": run_id})["status"] == "running",
               what="the run to start")  # fmt: skip
    asked = short_wait.ok("cancel_run", {"run_id": run_id})
    assert asked["run_id"] == run_id and asked["cancel_requested"] is True
    ended = short_wait.ok("wait_run", {"run_id": run_id, "timeout_seconds": 60})
    assert ended["ended"] is True
    assert ended["status"] == "cancelled"
    statuses = short_wait.ok("run_events", {"run_id": run_id, "types": ["status"]})["events"]
    assert "cancelled" in statuses[-1]["summary"]
    again = short_wait.refused("cancel_run", {"run_id": run_id})
    assert again["status"] == 409 and "already ended" in again["detail"]


def test_wait_run_follows_a_run_with_progress(short_wait: McpSession, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    (gates / "1").touch()
    started = short_wait.ok("mcptest__steps", {"gates": str(gates), "steps": 2})
    assert started["ended"] is False  # step 2 waits for its gate
    seen: list[tuple[float, float | None, str | None]] = []

    async def opening(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))
        (gates / str(int(done))).touch()

    arguments = {"run_id": started["id"], "timeout_seconds": 60}
    waited = short_wait.run(lambda c: c.call_tool("wait_run", arguments,
                                                  progress_callback=opening))  # fmt: skip
    assert waited.structured_content["status"] == "succeeded"
    assert waited.structured_content["result"] == {"steps": 2}
    assert seen[-1][:2] == (2.0, 2.0)


def test_run_events_pages_through_one_type(mcp: McpSession, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    for step in range(1, 6):
        (gates / str(step)).touch()
    run = mcp.finished("mcptest__steps", {"gates": str(gates), "steps": 5})
    every = mcp.ok("run_events", {"run_id": run["id"], "limit": 500})["events"]
    logs = [e for e in every if e["type"] == "message"]
    assert len(logs) == 5
    seen: list[dict[str, Any]] = []
    after = 0
    while True:
        page = mcp.ok("run_events", {"run_id": run["id"], "types": ["message"], "after": after,
                                     "limit": 2})  # fmt: skip
        if not page["events"]:
            break
        assert len(page["events"]) <= 2
        seen += page["events"]
        after = page["next_after"]
    assert seen == logs
    assert "step 5 of 5" in seen[-1]["summary"]


def test_run_a_pipeline_and_resume_it(mcp: McpSession) -> None:
    done = mcp.ok("run_pipeline", {"plugin": "mcptest", "pipeline": "count_then_report",
                                   "params": {"times": 2}, "wait_seconds": 60})  # fmt: skip
    assert done["ended"] is True and done["status"] == "succeeded"
    assert done["kind"] == "pipeline" and done["pipeline"] == "count_then_report"
    failed = mcp.ok("run_pipeline", {"plugin": "mcptest", "pipeline": "count_then_fail",
                                     "params": {"code": 3}, "wait_seconds": 60})  # fmt: skip
    assert failed["status"] == "failed"
    assert "code 3" in str(failed["error"])
    resumed = mcp.ok("resume_run", {"run_id": failed["id"], "params": {"code": 0},
                                    "allow_param_changes": True, "wait_seconds": 60})  # fmt: skip
    assert resumed["id"] != failed["id"]
    assert resumed["ended"] is True and resumed["status"] == "succeeded"
    refused = mcp.refused("resume_run", {"run_id": done["id"]})
    assert "already succeeded" in refused["detail"]


def test_services_and_deployments_tools_answer(mcp: McpSession) -> None:
    assert mcp.ok("list_services") == {"services": []}
    assert mcp.ok("list_deployments") == {"deployments": []}
    assert mcp.refused("launch_service", {"service_id": "nothing"})["status"] == 404
    assert mcp.refused("invoke_deployment", {"name": "nothing"})["status"] == 404


def test_runs_still_going_when_a_stdio_client_leaves_are_cancelled(
    runtime: Runtime, hoist_home: Path, plugin_paths: tuple[Path, ...], tmp_path: Path
) -> None:
    env = server_env(hoist_home, plugin_paths, HOIST_MCP_CALL_WAIT="0")
    log = tmp_path / "server.log"
    with McpSession(stdio_client(env, log, tmp_path), "stdio (leaving)", log) as session:
        started = session.ok("mcptest__steps", {"gates": str(tmp_path), "steps": 2})
        assert started["ended"] is False
    run = runtime.store.get_run(started["id"])
    assert run.status is RunStatus.CANCELLED


def test_a_waiting_call_leaves_the_session_free_to_cancel_its_run(
    mcp: McpSession, tmp_path: Path
) -> None:
    """While an action tool waits for its run, the same session finds the run and
    cancels it; the waiting call then answers the cancelled run."""
    gates = tmp_path / "never"
    gates.mkdir()
    arguments = {"gates": str(gates), "steps": 3}

    async def scenario(client: Any) -> tuple[Any, str]:
        running = asyncio.Event()

        async def progressed(done: float, total: float | None, message: str | None) -> None:
            running.set()

        async def cancel() -> str:
            await running.wait()
            listed = await client.call_tool("list_runs", {"status": ["running"]})
            for run in listed.structured_content["runs"]:
                got = await client.call_tool("get_run", {"run_id": run["id"]})
                if got.structured_content["params"] == arguments:
                    await client.call_tool("cancel_run", {"run_id": run["id"]})
                    return str(run["id"])
            raise AssertionError(f"no running run with {arguments}")

        call = client.call_tool("mcptest__steps", arguments, progress_callback=progressed)
        return await asyncio.gather(call, cancel())

    result, cancelled = mcp.run(scenario)
    assert not result.is_error, result.structured_content
    assert result.structured_content["id"] == cancelled
    assert result.structured_content["ended"] is True
    assert result.structured_content["status"] == "cancelled"


def test_an_action_printing_to_stdout_does_not_break_the_session(mcp: McpSession) -> None:
    """Over stdio, stdout is the protocol's: what an action prints must not reach it."""
    run = mcp.finished("mcptest__chatty", {})
    assert run["status"] == "succeeded" and run["result"] == {"said": 3}
    assert mcp.finished("mcptest__count", {"times": 1})["result"]["text"] == "hi"


def test_wait_run_follows_a_run_of_another_worker(
    http_server: Any, runtime: Runtime, plugin_paths: tuple[Path, ...], tmp_path: Path
) -> None:
    """A run another process writes to the same store (here: this test's own runtime,
    not the server's) is followed through the store, progress included."""
    gates = tmp_path / "gates"
    gates.mkdir()
    arguments = {"gates": str(gates), "steps": 3}
    worker = threading.Thread(
        target=run_plugin, args=(plugin_paths[0] / "mcptest", "steps", arguments), daemon=True
    )
    worker.start()

    def running() -> str | None:
        runtime.sink.flush()
        found = [r.id for r in runtime.store.list_runs() if r.status is RunStatus.RUNNING]
        return found[0] if found else None

    run_id = wait_until(running, what="the worker's run to start")
    seen: list[tuple[float, float | None, str | None]] = []

    async def opening(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))
        (gates / str(int(done))).touch()

    with http_session(http_server, http_server.token("viewer")) as viewer:
        waited = viewer.run(lambda c: c.call_tool("wait_run", {"run_id": run_id},
                                                  progress_callback=opening))  # fmt: skip
    worker.join(30)
    assert waited.structured_content["status"] == "succeeded"
    assert waited.structured_content["result"] == {"steps": 3}
    assert seen[-1][:2] == (3.0, 3.0)
