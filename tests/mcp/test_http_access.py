"""``/mcp`` of a ``hoist serve`` app: a bearer API token names the account and its role
(a viewer reads, an operator launches); no token, a bad one or a worker's is a 401."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.mcp.conftest import need_sdk

need_sdk()  # before what imports the SDK

from hoist.mcp.tools import FIXED_TOOLS  # noqa: E402
from tests.mcp.conftest import http_session, mcp_url  # noqa: E402
from tests.mcp.session import McpSession  # noqa: E402

LAUNCHING = {tool.name for tool in FIXED_TOOLS if not tool.read_only}
INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "test", "version": "0"}},
}  # fmt: skip
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def _post(live: Any, token: str | None) -> httpx.Response:
    headers = dict(MCP_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(timeout=30) as http:
        return http.post(mcp_url(live), json=INITIALIZE, headers=headers)


def test_without_a_valid_user_token_mcp_answers_401(http_server: Any) -> None:
    worker = http_server.token("operator", worker=True)
    for token in (None, "not-a-token", worker):
        response = _post(http_server, token)
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == "Bearer"
        assert "API token" in response.json()["detail"]
    assert _post(http_server, http_server.token("viewer")).status_code == 200
    with pytest.raises(AssertionError, match="failed"), http_session(http_server, worker):
        pass


def test_a_viewer_reads_but_may_not_launch(http_server: Any) -> None:
    with http_session(http_server, http_server.token("operator")) as operator:
        run = operator.finished("mcptest__count", {"word": "op", "times": 1})
        assert run["status"] == "succeeded"
        assert LAUNCHING | {"mcptest__count"} <= set(operator.tools())
    with http_session(http_server, http_server.token("viewer")) as viewer:
        tools = viewer.tools()
        assert {"list_plugins", "describe_action", "get_run", "wait_run"} <= set(tools)
        assert not LAUNCHING & set(tools)
        assert not [name for name in tools if "__" in name]  # no action tool
        refused = viewer.refused("mcptest__count", {"word": "v", "times": 1})
        assert refused["status"] == 403
        assert "operator" in refused["detail"]
        assert viewer.refused("cancel_run", {"run_id": run["id"]})["status"] == 403
        assert viewer.ok("get_run", {"run_id": run["id"]})["result"] == run["result"]
        assert viewer.read_json(f"hoist://runs/{run['id']}")["status"] == "succeeded"
        listed = viewer.ok("list_runs", {"plugin": "mcptest"})["runs"]
        assert [r["id"] for r in listed] == [run["id"]]  # the refused call started none


def test_an_operator_runs_an_action(http_server: Any) -> None:
    with http_session(http_server, http_server.token("operator", "olga")) as operator:
        run = operator.finished("mcptest__count", {"word": "go", "times": 2})
        assert run["status"] == "succeeded"
        assert run["result"] == {"text": "go go", "length": 5}
    stored = http_server.state.store.get_run(run["id"])
    assert stored.status.is_terminal and stored.plugin == "mcptest"


def test_the_role_is_the_token_of_each_request(http_server: Any) -> None:
    """A session opened with an operator's token does not lend its role to a request
    that carries a viewer's token (the caller is read from each request)."""
    session: McpSession
    with http_session(http_server, http_server.token("operator")) as session:
        assert "mcptest__count" in session.tools()
    viewer = http_server.token("viewer")
    opened = _post(http_server, http_server.token("operator"))
    assert opened.status_code == 200
    session_id = opened.headers["mcp-session-id"]
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {viewer}", "Mcp-Session-Id": session_id,
               "Mcp-Protocol-Version": "2025-06-18"}  # fmt: skip
    arguments = {"word": "x", "times": 1}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "mcptest__count", "arguments": arguments}}  # fmt: skip
    with httpx.Client(timeout=30) as http:
        http.post(mcp_url(http_server), headers=headers,
                  json={"jsonrpc": "2.0", "method": "notifications/initialized"})  # fmt: skip
        answered = http.post(mcp_url(http_server), json=call, headers=headers)
    assert answered.status_code == 200, answered.text
    assert '"isError":true' in answered.text.replace(" ", "")
    assert '"status":403' in answered.text.replace(" ", "")
