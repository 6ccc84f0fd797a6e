"""``/mcp`` streams outlive the request that authenticated them (the session's GET
stream, a ``tools/call`` that waits for a run): like the server's own SSE streams they
re-check the caller's credential and end once its token is revoked or its user
deactivated, instead of serving the caller until the stream ends by itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.mcp.conftest import need_sdk

need_sdk()  # before what imports the SDK

from hoist.mcp import mount_mcp  # noqa: E402
from hoist.runs.models import Run, RunStatus, StatusEvent  # noqa: E402
from hoist.server.api import API_PREFIX as API  # noqa: E402
from tests.mcp.conftest import mcp_url  # noqa: E402
from tests.server.conftest import LiveServer, serve, server_settings  # noqa: E402

VERSION = "2025-06-18"
INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {},
               "clientInfo": {"name": "test", "version": "0"}},
}  # fmt: skip
ACCEPT = "application/json, text/event-stream"


@pytest.fixture
def live(hoist_home: Path) -> Iterator[LiveServer]:
    """A server with ``/mcp`` whose streams re-check their credential every 0.1 s."""
    with serve(server_settings(hoist_home), prepare=mount_mcp, keepalive=0.5,
               recheck_interval=0.1) as server:  # fmt: skip
        yield server


def _running_run(live: LiveServer, run_id: str) -> Run:
    """A run that stays ``running`` (nothing executes it)."""
    now = time.time()
    run = Run(id=run_id, plugin="remote", action="wait", created_at=now, heartbeat_at=now)
    status = StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)
    live.state.store.write_batch([run], [status])
    return run


def _session(live: LiveServer, http: httpx.Client, token: str) -> dict[str, str]:
    """Open an MCP session with ``token``; the headers of its further requests."""
    headers = {"Accept": ACCEPT, "Authorization": f"Bearer {token}"}
    opened = http.post(mcp_url(live), json=INITIALIZE, headers=headers)
    assert opened.status_code == 200, opened.text
    headers = {**headers, "Mcp-Session-Id": opened.headers["mcp-session-id"],
               "Mcp-Protocol-Version": VERSION}  # fmt: skip
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert http.post(mcp_url(live), json=done, headers=headers).status_code == 202
    return headers


def _revoker(live: LiveServer, viewer: httpx.Client) -> Callable[[], None]:
    token_id = viewer.get(f"{API}/tokens").json()[0]["id"]
    admin = live.http(live.token())

    def revoke() -> None:
        assert admin.delete(f"{API}/tokens/{token_id}").status_code == 204

    return revoke


def _deactivator(live: LiveServer, username: str) -> Callable[[], None]:
    user = live.state.users.find(username)
    assert user is not None
    admin = live.http(live.token())

    def deactivate() -> None:
        assert admin.post(f"{API}/users/{user.id}/deactivate").status_code == 200

    return deactivate


def _rest(response: httpx.Response) -> str:
    """What the stream sends until the server ends it (a read timeout fails the test:
    the stream kept going after its credential was gone)."""
    try:
        return "".join(response.iter_text())
    except httpx.ReadTimeout:
        pytest.fail("the /mcp stream kept going after its credential was gone")


# 30 s without a byte: far beyond the 0.1 s re-check, yet a bound on a stream that stays
_TIMEOUT = httpx.Timeout(30, read=30)


def test_the_session_stream_ends_when_its_token_is_revoked(live: LiveServer) -> None:
    token = live.token("viewer", username="watcher")
    with httpx.Client(base_url=live.url, timeout=_TIMEOUT) as http:
        headers = _session(live, http, token)
        revoke = _revoker(live, live.http(token))
        with http.stream("GET", mcp_url(live), headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            revoke()
            _rest(stream)
        refused = http.post(mcp_url(live), json={"jsonrpc": "2.0", "id": 5, "method": "ping"},
                            headers=headers)  # fmt: skip
        assert refused.status_code == 401


@pytest.mark.parametrize("end", ["revoke", "deactivate"])
def test_a_waiting_tool_call_ends_when_its_credential_is_gone(live: LiveServer, end: str) -> None:
    run = _running_run(live, f"mcpwait{end}"[:22].ljust(22, "0"))
    token = live.token("viewer", username="waiter")
    gone = _revoker(live, live.http(token)) if end == "revoke" else _deactivator(live, "waiter")
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "wait_run",
                       "arguments": {"run_id": run.id, "timeout_seconds": 3600}}}  # fmt: skip
    with httpx.Client(base_url=live.url, timeout=_TIMEOUT) as http:
        headers = _session(live, http, token)
        with http.stream("POST", mcp_url(live), json=call, headers=headers) as answer:
            assert answer.status_code == 200
            gone()
            text = _rest(answer)
    assert '"result"' not in text, text  # ended by the server, not answered


def test_a_tool_call_of_a_valid_credential_is_answered(live: LiveServer) -> None:
    """Re-checks that find the credential valid leave a waiting call alone."""
    run = _running_run(live, "mcpstays00000000000001")
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "wait_run",
                       "arguments": {"run_id": run.id, "timeout_seconds": 1}}}  # fmt: skip
    with httpx.Client(base_url=live.url, timeout=_TIMEOUT) as http:
        headers = _session(live, http, live.token("viewer"))
        answer = http.post(mcp_url(live), json=call, headers=headers)
    assert answer.status_code == 200
    assert '"structuredContent":{"id":"mcpstays00000000000001"' in answer.text, answer.text
