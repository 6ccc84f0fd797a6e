"""Schemathesis hooks for ``test_schemathesis.py`` (loaded by ``st`` through
``SCHEMATHESIS_HOOKS``): every request carries a token fetched from the test server.

The fuzzer is an admin: it may well revoke its own token, change its own password or
deactivate its own account. Schemathesis refetches the token on a 401 and replays the
request; the test server's ``/fuzz-token`` route then hands out a fresh token of a
(re-activated) admin, so every operation keeps being tested, not only answered with 401.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis


@schemathesis.auth()
class FuzzToken:
    """A bearer token from ``HOIST_FUZZ_TOKEN_URL``."""

    def get(self, case: Any, ctx: Any) -> str:
        response = httpx.post(os.environ["HOIST_FUZZ_TOKEN_URL"], timeout=30)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
