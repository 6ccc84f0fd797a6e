"""``--server URL`` after the command as well as before it, and ``hoist login`` without
``--username`` (issue 18), against a real uvicorn server."""

from __future__ import annotations

import io
from typing import Any

import pytest

from hoist.runs.short_ids import short_id
from tests.cli.test_remote import server  # noqa: F401  (the live server fixture)
from tests.server.conftest import ADMIN_PASSWORD, LiveServer


def _login_as_me(hoist: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``hoist login --password-stdin`` with no --username: the login name is taken."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOGNAME", "admin")
    monkeypatch.setattr("sys.stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    return hoist("login", "--server", url, "--password-stdin")


def test_login_takes_the_login_name(
    server: LiveServer,  # noqa: F811
    hoist: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = _login_as_me(hoist, server.url, monkeypatch)
    assert result.code == 0, result.err
    assert "as admin" in result.out


def test_server_after_the_command(
    server: LiveServer,  # noqa: F811
    hoist: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _login_as_me(hoist, server.url, monkeypatch).code == 0
    url = server.url
    ran = hoist("run", "text_stats", "word_count", "-p", "text=a b a", "--server", url, "--json")
    assert ran.code == 0, ran.err
    run_id = ran.json()["id"]
    flow = hoist("pipeline", "run", "sim_train", "train_flow", "-p", "epochs=2",
                 "-p", "sleep_per_epoch=0", "--server", url, "--json")  # fmt: skip
    assert flow.code == 0, flow.err
    flow_id = flow.json()["id"]
    again = hoist("pipeline", "resume", flow_id, "--server", url)
    assert again.code == 0 and "already succeeded" in again.out, again.err
    before = hoist("pipeline", "--server", url, "resume", short_id(flow_id))
    assert before.code == 0 and "already succeeded" in before.out
    for argv in (("runs", "list", "--server", url), ("runs", "--server", url, "list")):
        table = hoist(*argv)
        assert table.code == 0 and short_id(run_id) in table.out, table.err
    shown = hoist("runs", "show", short_id(run_id), "--server", url, "--json")
    assert shown.code == 0 and shown.json()["id"] == run_id
    events = hoist("runs", "events", short_id(run_id), "--server", url, "--json")
    assert events.code == 0 and events.out.strip()
    assert hoist("runs", "list", "--json").json() == []  # nothing ran locally
