"""The signed identity: sign and verify, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import fastapi
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


# ---------------------------------------------------------------------- at the service
def _app(runtime: Any, **options: Any) -> Any:
    from hoist.services import Launch, ServeAPI
    from hoist.services import forms as F

    app = ServeAPI(runtime=runtime, **options)
    form = F.Model(F.InputText("who", "Who"), F.InputFiles("doc", "Doc"))

    @app.enter("/greet", model=form, summary="Greet")
    async def enter(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, greet, inputs=inputs)

    @app.post("/plain")
    async def plain(request: fastapi.Request) -> Any:
        return Launch(request, greet, inputs={"who": "plain"})

    return app


def greet(inputs: dict[str, Any]) -> str:
    """The entry point."""
    return f"hello {inputs['who']}"


def _refused(answer: Any) -> bool:
    return answer.status_code == 401 and answer.json()["detail"].startswith("identity refused")


def test_a_service_with_a_secret_refuses_requests_without_a_valid_identity(
    runtime: Any,
) -> None:
    from tests.services.test_app import nothing_recorded, serving

    with serving(_app(runtime, secret=SECRET)) as client:
        expired = sign(SECRET, "ada", "admin", ttl=-5)
        forged = sign("not-the-secret", "ada", "admin")
        bound = sign(SECRET, "ada", "admin", run="some-run")
        for headers in (
            {},
            {"X-Hoist-Identity": ""},
            {"X-Hoist-Identity": "garbage"},
            {"X-Hoist-Identity": forged},
            {"X-Hoist-Identity": expired},
            {"X-Hoist-Identity": bound},  # a lock answer's token does not launch
            {"X-Hoist-User": "admin", "X-Kodosumi-User": "admin"},  # never believed
        ):
            for path in ("/greet", "/plain"):
                answer = client.post(path, json={"who": "x"}, headers=headers)
                assert _refused(answer), (path, headers, answer.text)
        # Refused before the body is read: nothing staged, nothing launched.
        answer = client.post("/greet", data={"who": "x"}, files={"doc": ("a.txt", b"a")})
        assert _refused(answer)
        assert not (runtime.runs_dir / ".uploads").exists() or not any(
            (runtime.runs_dir / ".uploads").iterdir()
        )
        assert nothing_recorded(runtime)
        # The form itself stays readable.
        assert client.get("/greet").status_code == 200


def test_a_valid_identity_records_the_launching_user(runtime: Any) -> None:
    from tests.services.conftest import ended
    from tests.services.test_app import serving

    with serving(_app(runtime, secret=SECRET)) as client:
        token = sign(SECRET, "ada", "operator")
        headers = {"X-Hoist-Identity": token, "X-Hoist-User": "mallory"}
        answer = client.post("/greet", json={"who": "ada"}, headers=headers)
        assert answer.status_code == 202, answer.text
        run = ended(runtime, answer.json()["run_id"])
        assert run.result == "hello ada"
        assert run.meta["user"] == "ada" and run.meta["role"] == "operator"
        assert run.meta["service"]["url"] == "http://service"
        plain = client.post("/plain", headers={"X-Hoist-Identity": token})
        assert ended(runtime, plain.json()["run_id"]).meta["user"] == "ada"


def test_the_secret_comes_from_the_runtime_settings(runtime: Any) -> None:
    from hoist.runs.runtime import Runtime
    from tests.services.test_app import serving

    configured = Runtime(runtime.settings.with_(service_secret=SECRET))
    try:
        with serving(_app(configured)) as client:
            assert _refused(client.post("/greet", json={"who": "x"}))
            token = sign(SECRET, "ada", "viewer")
            answer = client.post("/greet", json={"who": "x"}, headers={"X-Hoist-Identity": token})
            assert answer.status_code == 202
    finally:
        configured.close()


def test_without_a_secret_requests_are_anonymous_and_the_app_says_so(
    runtime: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.services.conftest import ended
    from tests.services.test_app import serving

    with caplog.at_level("WARNING", logger="hoist.services"), serving(_app(runtime)) as client:
        said = [r.getMessage() for r in caplog.records if "anonymous" in r.getMessage()]
        assert len(said) == 1  # at start-up, before any request
        # Any identity header, even a well-signed one, is not believed: anonymous.
        token = sign(SECRET, "ada", "admin")
        answer = client.post("/greet", json={"who": "x"}, headers={"X-Hoist-Identity": token})
        assert answer.status_code == 202
        run = ended(runtime, answer.json()["run_id"])
        assert "user" not in run.meta and "role" not in run.meta
        client.post("/greet", json={"who": "y"})
    assert len([r for r in caplog.records if "anonymous" in r.getMessage()]) == 1
