"""Schemathesis with every check against a live server: the OpenAPI document and the
server must agree (no undocumented status, no body that breaks its schema, no
schema-valid input refused, no schema-invalid input accepted, ``Allow`` that lists
every method, no 5xx).

``st run`` runs as a real process, all its phases (coverage, fuzzing, stateful) and all
its checks, bounded by ``--max-examples`` and a fixed seed. The admin's run covers every
operation but ingest; a second run, at the same time on a server of its own, covers
ingest with a worker token.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.server.accounts import Role, TokenKind
from hoist.server.accounts.passwords import HashingPool
from tests.conftest import need
from tests.server.conftest import LiveServer, serve, server_settings

if importlib.util.find_spec("schemathesis") is None:
    need("schemathesis is not installed (dev extra)")

ROOT = Path(__file__).resolve().parents[2]
ST = [sys.executable, "-m", "schemathesis.cli"]
DOCUMENT = "openapi.json"
# An SSE stream answers 200 and then stays open as long as runs live (the all-runs one
# for good): every case would wait out the request timeout. Both have their own tests.
EXCLUDED = ["/api/v1/runs/stream", "/api/v1/runs/{run_id}/events/stream"]
# A rule no JSON schema can state, answered 422 with the field's message: a password
# that fits the schema (8 to 1024 characters) may still be too easy to guess (common or
# too simple). (An ingested event naming a run the server does not know, as the
# fuzzer's always do, is a 404 with the field errors, which the check takes as it is.)
CONFIG = """
[[operations]]
include-name = ["POST /api/v1/users", "PATCH /api/v1/users/{user_id}"]
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"
]
"""


def _cheap_hashing() -> HashingPool:
    """A hashing pool with Argon2's cheapest settings: the fuzzer logs in and sets
    passwords hundreds of times, and it checks the document, not the hash's cost."""
    from argon2 import PasswordHasher

    pool = HashingPool()
    pool._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return pool


def _fuzz_tokens(app: Any) -> None:
    """Add ``POST /fuzz-token?kind=user|worker``: a valid token of the ``fuzzer`` admin,
    re-created (and the account re-activated) whenever the fuzzer broke it."""
    state = app.state.hoist
    state.users.hashing = _cheap_hashing()
    current: dict[str, str] = {}

    def fuzz_token(kind: str = "user") -> dict[str, str]:
        user = state.users.find("fuzzer")
        if user is None:
            user = state.users.create("fuzzer", secrets.token_urlsafe(24), Role.ADMIN)
        elif not user.active or user.role is not Role.ADMIN:
            user = state.users.update(user.id, role=Role.ADMIN, active=True)
        secret = current.get(kind)
        if secret is None or state.credentials.token_user(secret) is None:
            _, secret = state.credentials.create_token(user.id, "fuzz", kind=TokenKind(kind))
            current[kind] = secret
        state.auth.forget_tokens()
        return {"token": secret}

    app.add_api_route("/fuzz-token", fuzz_token, methods=["POST"], include_in_schema=False)


@pytest.fixture
def fuzzed(hoist_home: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers, each on a store of its own: one for the admin's run, one for the
    worker's (so the two runs go at once, and neither meets the other's data)."""
    ingest_home = hoist_home.with_name("ingest-home")
    with (
        serve(server_settings(hoist_home), keepalive=0.5, prepare=_fuzz_tokens) as admin,
        serve(server_settings(ingest_home), keepalive=0.5, prepare=_fuzz_tokens) as ingest,
    ):
        yield admin, ingest


def _st(live: LiveServer, folder: Path, kind: str, *selection: str) -> subprocess.Popen[str]:
    """Start ``st run`` in ``folder`` (its output in ``st.log``) on ``selection``, with a
    token of ``kind`` (user or worker)."""
    folder.mkdir()
    config = folder / "schemathesis.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.server.schemathesis_hooks",
           "HOIST_FUZZ_TOKEN_URL": f"{live.url}/fuzz-token?kind={kind}",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    command = [
        *ST, "--config-file", str(config), "--no-color", "run", str(folder.parent / DOCUMENT),
        "--url", live.url, "--checks", "all",
        "--max-examples", "3", "--seed", "10", "--workers", "1",
        "--phases", "examples,coverage,fuzzing,stateful", "--request-timeout", "30",
        *selection,
    ]  # fmt: skip
    with (folder / "st.log").open("w") as log:
        return subprocess.Popen(command, env=env, cwd=folder, stdout=log,
                                stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _finished(process: subprocess.Popen[str], folder: Path) -> None:
    try:
        process.wait(timeout=600)
    finally:
        process.kill()
    output = (folder / "st.log").read_text()
    assert process.returncode == 0, output[-20000:]
    assert "Authentication failed" not in output  # every operation was really exercised


def test_schemathesis_with_every_check_finds_nothing(
    fuzzed: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    admin, ingest = fuzzed
    # the document as served to a logged-in user (built on the first request: slow on a
    # loaded machine)
    spec = admin.http(admin.token()).get("/api/v1/openapi.json", timeout=60)
    (tmp_path / DOCUMENT).write_text(spec.raise_for_status().text)
    excluded = [arg for path in [*EXCLUDED, "/api/v1/ingest"] for arg in ("--exclude-path", path)]
    users = _st(admin, tmp_path / "user", "user", *excluded)
    workers = _st(ingest, tmp_path / "worker", "worker", "--include-path", "/api/v1/ingest")
    try:
        _finished(workers, tmp_path / "worker")
        _finished(users, tmp_path / "user")
    finally:
        users.kill()
