"""Property-based API tests: schemathesis generates requests from the served OpenAPI
document (bounded examples) and sends them, authenticated, to a live server."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from tests.server.conftest import LiveServer

schemathesis = pytest.importorskip("schemathesis")

# Streams stay open while a run lives, and logout would revoke the test's own token.
SKIP = {
    ("GET", "/api/v1/runs/stream"),
    ("GET", "/api/v1/runs/{run_id}/events/stream"),
    ("POST", "/api/v1/auth/logout"),
}


def test_no_generated_request_gets_a_server_error(server: LiveServer) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        response_schema_conformance,
        status_code_conformance,
    )

    token = server.token()
    http = server.http(token)
    spec = http.get("/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    headers = {"Authorization": f"Bearer {token}"}
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    checked: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def check(case: Any) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                case.call_and_validate(base_url=server.url, headers=headers, timeout=30,
                                       checks=checks)  # fmt: skip

        check()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 20
