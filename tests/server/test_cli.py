"""``hoist serve`` as a real process, and account commands on the store."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx

from hoist._net import free_port
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import wait_served


def test_users_and_tokens_commands(hoist: Any) -> None:
    created = hoist("users", "create", "ops", "--role", "operator")
    assert created.code == 0 and "created operator ops" in created.out
    assert re.search(r"password: \S{16,}", created.out)
    assert hoist("users", "create", "ops").code == 2  # taken
    token = hoist("tokens", "create", "ops", "--name", "worker")
    assert token.code == 0 and token.out.strip().startswith("hoist_")
    worker = hoist("tokens", "create", "ops", "--name", "ray", "--worker")
    assert worker.code == 0 and worker.out.strip().startswith("hoist_")
    listed = hoist("users", "list", "--json").json()
    assert [(u["username"], u["role"], u["active"]) for u in listed] == [("ops", "operator", True)]
    assert hoist("users", "deactivate", "ops").code == 0
    assert hoist("users", "list", "--json").json()[0]["active"] is False
    missing = hoist("tokens", "create", "nobody")
    assert missing.code == 2 and "unknown user" in missing.err
    assert hoist("users", "create", "eve").code == 0  # a viewer: no worker token
    refused = hoist("tokens", "create", "eve", "--worker")
    assert refused.code == 2 and "needs the operator role" in refused.err


def test_hoist_serve_starts_and_prints_the_admin_password_once(hoist_home: Path) -> None:
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "HOIST_SERVER_PORT": str(port)}
    env.pop("HOIST_ADMIN_PASSWORD", None)
    proc = subprocess.Popen(
        [*HOIST, "serve", "--plugins", str(EXAMPLES), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_served(proc, f"http://127.0.0.1:{port}")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/api/v1/runs").status_code == 401
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "username: admin" in err
    assert re.search(r"password: \S{16,}", err)
    assert (hoist_home / "secret_key").exists()
