"""A secret param (``SecretStr``) reaches the action but never an agent: not in a tool's
result or error, a run's events, its resources, the run list or a prompt."""

from __future__ import annotations

import json
from typing import Any

from tests.mcp.conftest import need_sdk
from tests.mcp.session import McpSession

need_sdk()

KEY = "sk-live-0123456789abcdef"
HIDDEN = "0123456789abcdef"  # any part of it that is not a common prefix


def _text(result: Any) -> str:
    """Everything a tool result says: its text and its structured content."""
    texts = [c.text for c in result.content if getattr(c, "text", None)]
    return "\n".join(texts) + json.dumps(result.structured_content)


def test_secret_params_never_reach_the_agent(mcp: McpSession) -> None:
    schema = mcp.tools()["mcptest__with_key"].input_schema
    assert schema["properties"]["key"]["writeOnly"] is True

    called = mcp.call("mcptest__with_key", {"key": KEY, "label": "prod"})
    assert not called.is_error, called.structured_content
    assert HIDDEN not in _text(called)
    run = called.structured_content
    if not run["ended"]:
        run = mcp.ok("wait_run", {"run_id": run["id"], "timeout_seconds": 60})
    assert run["status"] == "succeeded"
    assert run["result"] == {"length": len(KEY), "label": "prod"}  # the action had it
    assert run["params"]["label"] == "prod"
    assert run["params"]["key"] != KEY and set(run["params"]["key"]) == {"*"}

    said = [
        json.dumps(mcp.ok("get_run", {"run_id": run["id"]})),
        json.dumps(mcp.ok("wait_run", {"run_id": run["id"]})),
        json.dumps(mcp.ok("run_events", {"run_id": run["id"], "limit": 500})),
        json.dumps(mcp.ok("list_runs", {"plugin": "mcptest", "limit": 200})),
        *(c.text for c in mcp.read(f"hoist://runs/{run['id']}")),
        *(c.text for c in mcp.read(f"hoist://runs/{run['id']}/events")),
        mcp.prompt("investigate_run", {"run_id": run["id"]}),
    ]
    for text in said:
        assert HIDDEN not in text
    assert any("calling with a key of 24 characters" in text for text in said)

    # Refused calls do not echo the key either (a bad key, a bad other field).
    for arguments in ({"key": "sk-0123"}, {"key": KEY, "label": "x" * 11}):
        refused = mcp.call("mcptest__with_key", arguments)
        assert refused.is_error
        assert "sk-0123" not in _text(refused) and HIDDEN not in _text(refused)
    short = mcp.refused("mcptest__with_key", {"key": "sk-0123"})
    assert list(short["errors"]) == ["key"]
    assert short["errors"]["key"] == ["must have at least 8 characters"]


def test_secret_params_of_a_pipeline_never_reach_the_agent(mcp: McpSession) -> None:
    arguments = {"key": KEY, "times": 1}
    done = mcp.ok("run_pipeline", {"plugin": "mcptest", "pipeline": "keyed",
                                   "params": arguments, "wait_seconds": 60})  # fmt: skip
    assert done["status"] == "succeeded", done
    assert HIDDEN not in json.dumps(done)
    runs = mcp.ok("list_runs", {"plugin": "mcptest", "limit": 200})["runs"]
    nodes = [r["id"] for r in runs if r["action"] in ("with_key", "count")][:2]
    said = [json.dumps(mcp.ok("get_run", {"run_id": run_id})) for run_id in [done["id"], *nodes]]
    said += [json.dumps(mcp.ok("run_events", {"run_id": done["id"], "limit": 500}))]
    said += [c.text for c in mcp.read(f"hoist://runs/{done['id']}")]
    said += [c.text for c in mcp.read(f"hoist://runs/{done['id']}/events")]
    for text in said:
        assert HIDDEN not in text
