"""``hoist login/logout`` and ``hoist --server URL run|runs|pipeline`` against a real
uvicorn server. The server keeps its own home: the CLI's home holds only credentials,
so a command that silently ran locally would find no runs."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import signal
import stat
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist.runs.short_ids import short_id
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import ADMIN_PASSWORD, LiveServer, serve, server_settings
from tests.waiting import wait_until

PLUGIN = """\
name: Remote
code: remote
actions:
  wait: {entrypoint: "plugin:wait", method: local}
  boom: {entrypoint: "plugin:boom", method: local}
"""

CODE = """
import time
from pydantic import BaseModel
from hoist import RuntimeContext, action

class WaitParams(BaseModel):
    seconds: float = 60

@action(name="wait", params=WaitParams)
def wait(params: WaitParams, context: RuntimeContext) -> None:
    end = time.time() + params.seconds
    while time.time() < end:
        context.check_cancelled()
        time.sleep(0.02)

@action(name="boom", params=WaitParams)
def boom(params: WaitParams, context: RuntimeContext) -> None:
    raise RuntimeError("it broke")
"""


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """A live server with its own home, serving the examples and a ``remote`` plugin."""
    plugins = tmp_path / "plugins" / "remote"
    plugins.mkdir(parents=True)
    (plugins / "config.yaml").write_text(PLUGIN)
    (plugins / "plugin.py").write_text(textwrap.dedent(CODE))
    monkeypatch.delenv("HOIST_TOKEN", raising=False)
    monkeypatch.delenv("HOIST_SERVER_URL", raising=False)
    settings = server_settings(tmp_path / "server-home", plugin_paths=(EXAMPLES, plugins.parent))
    with serve(settings, keepalive=0.5) as live:
        yield live


Hoist = Callable[..., Any]


def _login(hoist: Hoist, server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr("sys.stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    return hoist("login", "--server", server.url, "--username", "admin", "--password-stdin")


def _saved(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "credentials.json").read_text())
    return data


def test_login_saves_a_private_token_and_never_echoes_the_password(
    server: LiveServer, hoist_home: Path
) -> None:
    # A real terminal: the password is typed at a prompt that must not echo it.
    master, slave = pty.openpty()
    env = {**os.environ, "HOIST_HOME": str(hoist_home)}
    proc = subprocess.Popen([*HOIST, "login", "--server", server.url, "-u", "admin"],
                            stdin=slave, stdout=slave, stderr=slave, env=env)  # fmt: skip
    os.close(slave)
    seen, typed = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            seen += chunk
            if not typed and b"Password" in seen:
                os.write(master, ADMIN_PASSWORD.encode() + b"\n")
                typed = True
        elif proc.poll() is not None:
            break
    assert proc.wait(30) == 0, seen
    os.close(master)
    assert typed and b"logged in to" in seen
    assert ADMIN_PASSWORD.encode() not in seen
    path = hoist_home / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = _saved(hoist_home)[server.url]["token"]
    assert server.client_with(token).me()["user"]["username"] == "admin"


def test_login_from_stdin_and_bad_passwords(
    server: LiveServer, hoist: Hoist, hoist_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _login(hoist, server, monkeypatch)
    assert result.code == 0, result.err
    assert ADMIN_PASSWORD not in result.out + result.err
    assert stat.S_IMODE((hoist_home / "credentials.json").stat().st_mode) == 0o600
    first = _saved(hoist_home)[server.url]["token"]
    assert _login(hoist, server, monkeypatch).code == 0  # again: the old token is revoked
    with httpx.Client(base_url=server.url) as http:
        headers = {"Authorization": f"Bearer {first}"}
        assert http.get("/api/v1/auth/me", headers=headers).status_code == 401
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong-password\n"))
    bad = hoist("login", "--server", server.url, "-u", "admin", "--password-stdin")
    assert bad.code == 2 and "invalid username or password" in bad.err


def test_remote_run_prints_the_result_and_keeps_nothing_locally(
    server: LiveServer, hoist: Hoist, hoist_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(hoist, server, monkeypatch)
    run = hoist("--server", server.url, "run", "text_stats", "word_count", "-p", "text=a b a")
    assert run.code == 0, run.err
    assert "succeeded" in run.out
    assert json.loads(run.out[run.out.rindex("{") :]) == {"words": 3, "distinct": 2}
    quiet = hoist("--server", server.url, "run", "text_stats", "word_count", "-q")
    assert quiet.code == 0 and json.loads(quiet.out) == {"words": 6, "distinct": 4}
    record = hoist("--server", server.url, "run", "text_stats", "word_count", "--json").json()
    assert record["status"] == "succeeded" and record["plugin"] == "text_stats"
    failed = hoist("--server", server.url, "run", "remote", "boom")
    assert failed.code == 1 and "it broke" in failed.err
    assert not (hoist_home / "hoist.db").exists()  # every run went to the server


def test_bad_input_exits_2_naming_the_field(
    server: LiveServer, hoist: Hoist, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(hoist, server, monkeypatch)
    bad = hoist("--server", server.url, "run", "sim_train", "generate", "-p", "samples=5")
    assert bad.code == 2
    assert "samples: must be >= 10" in bad.err
    missing = hoist("--server", server.url, "run", "sim_train", "nope")
    assert missing.code == 2 and "nope" in missing.err


def test_runs_list_show_logs_and_cancel_through_the_server(
    server: LiveServer, hoist: Hoist, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(hoist, server, monkeypatch)
    remote = ("--server", server.url)
    done = hoist(*remote, "run", "text_stats", "word_count", "--json").json()
    listed = hoist(*remote, "runs", "list", "--json").json()
    assert [r["id"] for r in listed] == [done["id"]]
    table = hoist(*remote, "runs", "list", "--plugin", "text_stats")
    assert table.code == 0 and short_id(done["id"]) in table.out
    shown = hoist(*remote, "runs", "show", done["id"], "--json").json()
    assert shown["status"] == "succeeded" and shown["result"] == {"words": 6, "distinct": 4}
    tree = hoist(*remote, "runs", "show", done["id"][:12])  # a unique prefix
    assert tree.code == 0 and "succeeded" in tree.out and "progress 1" in tree.out
    logs = hoist(*remote, "runs", "logs", done["id"], "--follow")
    assert logs.code == 0 and "succeeded" in logs.out
    events = hoist(*remote, "runs", "events", done["id"], "--json").out.splitlines()
    assert [json.loads(e)["seq"] for e in events] == list(range(1, len(events) + 1))
    waiting = server.client("operator").launch("remote", "wait")
    assert hoist(*remote, "runs", "cancel", waiting).code == 0
    final = server.client("viewer").wait(waiting)
    assert final.status == "cancelled"
    again = hoist(*remote, "runs", "cancel", waiting)
    assert again.code == 0 and "already ended (cancelled)" in again.out
    resume = hoist(*remote, "pipeline", "resume", waiting)
    assert resume.code == 2 and "not a pipeline run" in resume.err


def test_no_token_exits_2_with_the_login_hint(
    server: LiveServer, hoist: Hoist, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = hoist("--server", server.url, "runs", "list")
    assert result.code == 2
    assert f"hoist login --server {server.url}" in result.err
    monkeypatch.setenv("HOIST_SERVER_URL", server.url)  # the option's variable
    assert hoist("run", "text_stats", "word_count").code == 2
    monkeypatch.setenv("HOIST_TOKEN", server.token("viewer"))  # a token without login
    assert hoist("runs", "list", "--json").json() == []


def test_logout_revokes_the_token(
    server: LiveServer, hoist: Hoist, hoist_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(hoist, server, monkeypatch)
    token = _saved(hoist_home)[server.url]["token"]
    out = hoist("logout", "--server", server.url)
    assert out.code == 0 and server.url not in _saved(hoist_home)
    assert hoist("--server", server.url, "runs", "list").code == 2  # nothing saved
    monkeypatch.setenv("HOIST_TOKEN", token)  # the revoked token, used anyway: 401
    refused = hoist("--server", server.url, "runs", "list")
    assert refused.code == 2
    assert "refused the token" in refused.err and "hoist login --server" in refused.err
    assert hoist("logout", "--server", server.url).code == 2  # not logged in any more


def test_ctrl_c_cancels_the_remote_run_and_exits_130(
    server: LiveServer, hoist_home: Path, hoist: Hoist, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(hoist, server, monkeypatch)
    env = {**os.environ, "HOIST_HOME": str(hoist_home)}
    proc = subprocess.Popen(
        [*HOIST, "--server", server.url, "run", "remote", "wait", "-q"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    viewer = server.client("viewer")

    def running() -> bool:
        assert proc.poll() is None, "hoist run exited early"
        return bool(viewer.list_runs(status=["running"]))

    wait_until(running, timeout=60, what="the remote run to be running")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "cancellation requested" in err
    [run] = viewer.list_runs()
    assert viewer.wait(run.id).status == "cancelled"
