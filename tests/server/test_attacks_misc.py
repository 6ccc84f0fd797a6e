"""Smaller attacks, each performed against a real server: oversized request headers,
streams that outlive their credential, LIKE wildcards in run-id prefixes, a docs page
that loads a script from a CDN, and HSTS behind HTTPS."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist._net import free_port
from hoist.errors import RunNotFoundError
from hoist.runs.models import Run, RunStatus, StatusEvent
from hoist.server.app import MAX_HEADER_BYTES
from hoist.server.sse import REVOKED
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import (
    ADMIN_PASSWORD,
    LiveServer,
    serve,
    server_settings,
    wait_served,
)

API = "/api/v1"
MIB = 1024 * 1024


# ---------------------------------------------------------------------------- headers
@pytest.fixture
def hoist_serve(hoist_home: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``hoist serve`` as a real process (uvicorn as users run it) and its URL."""
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "HOIST_SERVER_PORT": str(port),
           "HOIST_ADMIN_PASSWORD": ADMIN_PASSWORD}  # fmt: skip
    proc = subprocess.Popen(
        [*HOIST, "serve", "--plugins", str(EXAMPLES), "--log-level", "error"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_served(proc, url)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _send_huge_header(port: int, size: int) -> bytes:
    """Send a request whose one header is ``size`` bytes (stopping if the server closes
    the connection) and return whatever the server answered."""
    chunk = b"a" * (256 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ")
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
            sock.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole header was sent: what the fix does
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
        return answer


def test_oversized_headers_get_400_and_cannot_fill_memory(
    hoist_serve: tuple[subprocess.Popen[str], str],
) -> None:
    """Eight unauthenticated 32 MiB headers at once (they took the server to 468 MiB)."""
    proc, url = hoist_serve
    port = int(url.rsplit(":", 1)[1])
    before = _memory_kib(proc.pid, "VmHWM")  # the peak so far (start-up's)
    answers: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: answers.append(_send_huge_header(port, 32 * MIB)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 8
    assert all(a.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")) for a in answers), answers
    grown = (_memory_kib(proc.pid, "VmHWM") - before) * 1024
    assert grown < 16 * MIB, f"the server's peak memory grew by {grown / MIB:.0f} MiB"
    with httpx.Client(base_url=url) as http:
        assert http.get(f"{API}/health").status_code == 200
        # a request with ordinary headers, close to the limit, still passes
        fine = {f"X-H{i}": "v" * 1000 for i in range(MAX_HEADER_BYTES // 2048)}
        assert http.get(f"{API}/health", headers=fine).status_code == 200


# ---------------------------------------------------------------------------- streams
@pytest.fixture
def live(hoist_home: Path) -> Iterator[LiveServer]:
    """A server whose streams re-check their credential every 0.1 s."""
    with serve(server_settings(hoist_home), keepalive=0.2, recheck_interval=0.1) as server:
        yield server


def _running_run(server: LiveServer, run_id: str) -> Run:
    now = time.time()
    run = Run(id=run_id, plugin="remote", action="wait", created_at=now, heartbeat_at=now)
    status = StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)
    server.state.store.write_batch([run], [status])
    return run


def _follow(http: httpx.Client, path: str, on_first: Any) -> list[str]:
    """The lines of a stream until the server ends it; ``on_first()`` is called once the
    stream delivers its first message. Fails if the stream outlives 50 keep-alives."""
    lines: list[str] = []
    keepalives = 0
    with http.stream("GET", path) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            lines.append(line)
            if len(lines) == 1:
                on_first()
            keepalives += line == ": keep-alive"
            assert keepalives < 50, "the stream kept going after its credential was gone"
    return lines


def test_a_stream_ends_when_its_token_is_revoked(live: LiveServer) -> None:
    run = _running_run(live, "revoke0000000000000001")
    viewer = live.http(live.token("viewer", username="watcher"))
    token_id = viewer.get(f"{API}/tokens").json()[0]["id"]
    admin = live.http(live.token())

    def revoke() -> None:
        assert admin.delete(f"{API}/tokens/{token_id}").status_code == 204

    lines = _follow(viewer, f"{API}/runs/{run.id}/events/stream", revoke)
    assert lines[0] == "id: 1"  # it streamed, then ended on revocation
    assert lines[-2:] == [REVOKED.strip(), ""]
    assert live.state.store.get_run(run.id).status is RunStatus.RUNNING  # not because it ended


def test_a_stream_ends_when_its_user_is_deactivated(live: LiveServer) -> None:
    _running_run(live, "deact00000000000000001")
    live.token("viewer", username="leaver")
    user = live.state.users.find("leaver")
    assert user is not None
    browser = live.http()  # a session cookie, as the panel streams
    login = browser.post(
        f"{API}/auth/login", json={"username": "leaver", "password": "password-123"}
    )
    assert login.status_code == 200
    admin = live.http(live.token())

    def deactivate() -> None:
        assert admin.post(f"{API}/users/{user.id}/deactivate").status_code == 200

    lines = _follow(browser, f"{API}/runs/stream", deactivate)
    assert lines[0] == ": connected"
    assert lines[-2:] == [REVOKED.strip(), ""]


def test_streams_of_valid_credentials_keep_going(live: LiveServer) -> None:
    run = _running_run(live, "stays00000000000000001")
    viewer = live.http(live.token("viewer"))
    keepalives = 0
    with viewer.stream("GET", f"{API}/runs/{run.id}/events/stream") as response:
        for line in response.iter_lines():
            keepalives += line == ": keep-alive"
            assert line != REVOKED.strip()
            if keepalives == 5:  # well past many re-checks
                break
    assert keepalives == 5


def test_a_store_hiccup_during_a_recheck_does_not_drop_the_stream(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    run = _running_run(live, "hiccup0000000000000001")
    viewer = live.http(live.token("viewer"))
    credentials = live.state.auth.credentials
    real_get_token = credentials.get_token
    failures = []

    def busy_once(token_id: str) -> Any:
        if not failures:
            failures.append(token_id)
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real_get_token(token_id)

    monkeypatch.setattr(credentials, "get_token", busy_once)
    keepalives = 0
    with viewer.stream("GET", f"{API}/runs/{run.id}/events/stream") as response:
        for line in response.iter_lines():
            keepalives += line == ": keep-alive"
            assert line != REVOKED.strip()
            if keepalives == 5:
                break
    assert failures and keepalives == 5  # the failed check was retried, the stream kept on


# ---------------------------------------------------------------------------- prefixes
def test_run_id_prefixes_are_not_like_patterns(server: LiveServer) -> None:
    store = server.state.store
    run = _running_run(server, "abcdefgh00000000000001")
    http = server.http(server.token("viewer"))
    assert http.get(f"{API}/runs/abcdefgh").json()["id"] == run.id  # a real prefix works
    for pattern in ("abcde_", "a_c_e_gh", "______", "abcdef__"):
        response = http.get(f"{API}/runs/{pattern}")
        assert response.status_code == 404, pattern
    for pattern in ("abcde%", "%%%%%%", "a%h000"):  # the API refuses `%`; the store too
        with pytest.raises(RunNotFoundError):
            store.get_run(pattern)


# ---------------------------------------------------------------------------- headers
def test_no_docs_page_loads_a_script_from_elsewhere(server: LiveServer) -> None:
    http = server.http(server.token("viewer"))
    assert http.get(f"{API}/docs").status_code == 404
    assert http.get(f"{API}/openapi.json").json()["openapi"].startswith("3.")


def test_hsts_is_sent_when_cookies_are_secure(hoist_home: Path) -> None:
    with serve(server_settings(hoist_home, secure_cookies=True)) as secure:
        response = secure.http().get(f"{API}/health")
        assert response.headers["strict-transport-security"] == "max-age=31536000"
    with serve(server_settings(hoist_home)) as plain:
        assert "strict-transport-security" not in plain.http().get(f"{API}/health").headers
