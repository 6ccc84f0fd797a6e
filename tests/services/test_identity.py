"""The signed identity: sign and verify, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from hoist.services.identity import Identity, IdentityError, sign, verify
from hoist.settings import Settings

SECRET = "s3cret-shared-with-the-server"


def _forge(claims: dict[str, object], key: str = SECRET) -> str:
    head = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    mac = hmac.new(key.encode(), head, hashlib.sha256).hexdigest()
    return f"{head.decode()}.{mac}"


def test_a_signed_identity_verifies() -> None:
    token = sign(SECRET, "ada", "operator")
    found = verify(SECRET, token)
    assert isinstance(found, Identity)
    assert (found.user, found.role, found.run) == ("ada", "operator", None)
    assert found.exp > time.time()
    assert verify(SECRET.encode(), token).user == "ada"  # the secret as bytes too


def test_a_run_bound_identity_verifies_for_its_run_only() -> None:
    token = sign(SECRET, "ada", "viewer", run="r1")
    assert verify(SECRET, token, run="r1").run == "r1"
    for other in ("r2", None):
        with pytest.raises(IdentityError, match="another run"):
            verify(SECRET, token, run=other)
    # An unbound token is the user's for any run.
    assert verify(SECRET, sign(SECRET, "ada", "viewer"), run="r1").run is None


def test_an_expired_identity_is_refused() -> None:
    token = sign(SECRET, "ada", "admin", ttl=60)
    assert verify(SECRET, token, now=time.time() + 59).user == "ada"
    with pytest.raises(IdentityError, match="expired"):
        verify(SECRET, token, now=time.time() + 61)
    with pytest.raises(IdentityError, match="expired"):
        verify(SECRET, sign(SECRET, "ada", "admin", ttl=-1))


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "no-dot",
        ".",
        "abc.",
        ".abc",
        "é.é",
        "x" * 5000,
        "a.b.c",
        "\x00.\x00",
    ],
)
def test_malformed_tokens_are_refused(token: str | None) -> None:
    with pytest.raises(IdentityError):
        verify(SECRET, token)


def test_a_forged_identity_is_refused() -> None:
    token = sign(SECRET, "ada", "viewer")
    head, mac = token.split(".")
    # Another secret, a changed claim (an admin role) under the old signature, a
    # flipped signature character: each refused.
    with pytest.raises(IdentityError, match="signature"):
        verify(SECRET, sign("another-secret", "ada", "viewer"))
    claims = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    claims["role"] = "admin"
    admin = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(IdentityError, match="signature"):
        verify(SECRET, f"{admin}.{mac}")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    with pytest.raises(IdentityError, match="signature"):
        verify(SECRET, f"{head}.{flipped}")
    # The message never repeats the token.
    with pytest.raises(IdentityError) as caught:
        verify(SECRET, f"{admin}.{mac}")
    assert admin not in str(caught.value) and mac not in str(caught.value)


@pytest.mark.parametrize(
    "claims",
    [
        {"user": "", "role": "viewer", "run": None, "exp": 9e12},
        {"user": "ada", "role": 3, "run": None, "exp": 9e12},
        {"user": "ada", "role": "viewer", "run": 7, "exp": 9e12},
        {"user": "ada", "role": "viewer", "run": None, "exp": True},
        {"user": "ada", "role": "viewer", "run": None, "exp": "never"},
        {"user": "ada", "role": "viewer", "run": None},
        ["ada"],
    ],
)
def test_well_signed_nonsense_is_refused(claims: dict[str, object]) -> None:
    # Signed with the right secret, but not an identity: refused, never a crash.
    with pytest.raises(IdentityError, match="malformed"):
        verify(SECRET, _forge(claims))  # type: ignore[arg-type]


def test_no_secret_verifies_nothing_and_signs_nothing() -> None:
    token = sign(SECRET, "ada", "viewer")
    with pytest.raises(IdentityError, match="no secret"):
        verify("", token)
    with pytest.raises(ValueError):
        sign("", "ada", "viewer")
    with pytest.raises(ValueError):
        sign(SECRET, "", "viewer")


def test_the_service_secret_setting() -> None:
    settings = Settings.from_env({"HOIST_SERVICE_SECRET": SECRET})
    assert settings.service_secret == SECRET and SECRET not in repr(settings)
    assert Settings.from_env({}).service_secret is None
