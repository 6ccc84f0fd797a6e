"""Accounts and authentication against a live server: sessions, CSRF, tokens, roles,
rate-limited logins, deactivation, and the signing secret."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from hoist.client import AuthError, HoistClient, PermissionDeniedError, RateLimitedError
from hoist.server.accounts.bootstrap import load_secret_key
from hoist.settings import Settings
from tests.server.conftest import ADMIN_PASSWORD, LiveServer, serve, server_settings

API = "/api/v1"


def _login(
    server: LiveServer, username: str = "admin", password: str = ADMIN_PASSWORD
) -> tuple[httpx.Client, str]:
    http = server.http()
    response = http.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return http, response.json()["csrf_token"]


def test_health_and_ready_need_no_login_but_everything_else_does(server: LiveServer) -> None:
    http = server.http()
    assert http.get(f"{API}/health").status_code == 200
    assert http.get(f"{API}/ready").json() == {"status": "ready"}
    for method, path in [
        ("GET", "/runs"), ("GET", "/runs/abc123"), ("GET", "/plugins"), ("GET", "/users"),
        ("GET", "/tokens"), ("POST", "/runs"), ("GET", "/auth/me"), ("POST", "/ingest"),
        ("GET", "/openapi.json"), ("GET", "/runs/stream"),
    ]:  # fmt: skip
        response = http.request(method, API + path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
    assert http.get("/metrics").status_code == 401
    assert (
        http.get(f"{API}/runs", headers={"Authorization": "Bearer hoist_nope"}).status_code == 401
    )
    assert http.get(f"{API}/runs", headers={"Authorization": "Basic YTpi"}).status_code == 401


def test_login_sets_a_hardened_session_cookie(server: LiveServer) -> None:
    http = server.http()
    response = http.post(
        f"{API}/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert response.json()["user"]["role"] == "admin"
    me = http.get(f"{API}/auth/me").json()
    assert me["auth"] == "session" and me["csrf_token"] == response.json()["csrf_token"]


def test_secure_cookies_when_configured(hoist_home: Path) -> None:
    with serve(server_settings(hoist_home, secure_cookies=True)) as live:
        http = live.http()
        response = http.post(
            f"{API}/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert "secure" in response.headers["set-cookie"].lower()


def test_credentials_in_the_query_string_are_refused(server: LiveServer) -> None:
    http = server.http()
    response = http.post(
        f"{API}/auth/login",
        params={"username": "admin", "password": ADMIN_PASSWORD},
        json={"username": "admin", "password": ADMIN_PASSWORD},
    )
    assert response.status_code == 400
    assert "set-cookie" not in response.headers


def test_cookie_requests_need_the_csrf_token_bearer_requests_do_not(server: LiveServer) -> None:
    http, csrf = _login(server)
    body = {"name": "from-session"}
    assert http.post(f"{API}/tokens", json=body).status_code == 403
    assert (
        http.post(f"{API}/tokens", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    )
    assert http.post(f"{API}/tokens", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    form = http.post(f"{API}/auth/logout", data={"csrf_token": csrf})
    assert form.status_code == 204
    bearer = server.http(server.token())
    assert bearer.post(f"{API}/tokens", json=body).status_code == 201


def test_logout_ends_the_session(server: LiveServer) -> None:
    http, csrf = _login(server)
    cookie = http.cookies.get("hoist_session")
    assert http.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    replay = server.http(cookies={"hoist_session": cookie or ""})
    assert replay.get(f"{API}/auth/me").status_code == 401


def test_logout_with_a_token_revokes_it(server: LiveServer) -> None:
    client = server.client("viewer")
    assert client.me()["auth"] == "token"
    client.logout()
    with pytest.raises(AuthError):
        client.me()


def test_a_tampered_cookie_is_refused(server: LiveServer) -> None:
    http, _ = _login(server)
    value = http.cookies["hoist_session"]
    forged = server.http(cookies={"hoist_session": value[:-2] + "xx"})
    assert forged.get(f"{API}/auth/me").status_code == 401


def test_deactivation_revokes_sessions_and_tokens(server: LiveServer, admin: HoistClient) -> None:
    created = admin.create_user("dana", role="operator", password="dana-password")
    user_id = created["user"]["id"]
    assert created["password"] is None
    dana = server.client_with(None)
    dana.login("dana", "dana-password")
    token = dana.create_token("cli")["token"]
    worker = server.client_with(token)
    assert worker.me()["user"]["username"] == "dana"
    assert admin.deactivate_user(user_id)["active"] is False
    with pytest.raises(AuthError):
        dana.me()
    with pytest.raises(AuthError):
        worker.me()
    with pytest.raises(AuthError):
        server.client_with(None).login("dana", "dana-password")
    admin.update_user(user_id, active=True)
    with pytest.raises(AuthError):  # reactivation does not bring old tokens back
        worker.me()


def test_roles(server: LiveServer) -> None:
    viewer, operator, admin = (server.client(r) for r in ("viewer", "operator", "admin"))
    assert viewer.list_runs() == []
    with pytest.raises(PermissionDeniedError):
        viewer.launch("text_stats", "word_count")
    with pytest.raises(PermissionDeniedError):
        operator.list_users()
    with pytest.raises(PermissionDeniedError):
        viewer.list_tokens(all_users=True)
    run_id = operator.launch("text_stats", "word_count")
    assert operator.wait(run_id).status == "succeeded"
    assert {u["username"] for u in admin.list_users()} >= {"admin", "viewer-1"}


def test_users_crud(admin: HoistClient) -> None:
    created = admin.create_user("eve", role="viewer")
    password, user_id = created["password"], created["user"]["id"]
    assert password and len(password) >= 16
    assert admin.get_user(user_id)["username"] == "eve"
    assert admin.update_user(user_id, role="operator")["role"] == "operator"
    with pytest.raises(Exception, match="taken"):
        admin.create_user("eve")
    admin.delete_user(user_id)
    with pytest.raises(Exception, match="unknown user"):
        admin.get_user(user_id)


def test_the_last_admin_cannot_be_removed(admin: HoistClient) -> None:
    me = admin.me()["user"]
    with pytest.raises(Exception, match="last active admin"):
        admin.deactivate_user(me["id"])
    with pytest.raises(Exception, match="last active admin"):
        admin.update_user(me["id"], role="viewer")


def test_tokens_own_and_admin(server: LiveServer, admin: HoistClient) -> None:
    alice, bob = server.client("operator"), server.client("viewer")
    mine = alice.create_token("laptop", expires_in_days=1)
    assert mine["token"].startswith("hoist_") and mine["info"]["expires_at"]
    listed = alice.list_tokens()
    assert mine["info"]["id"] in {t["id"] for t in listed}
    assert all("token" not in t for t in listed)
    with pytest.raises(Exception, match="unknown token"):
        bob.revoke_token(mine["info"]["id"])  # not bob's: looks absent
    with pytest.raises(PermissionDeniedError):
        bob.create_token("for alice", user_id=mine["info"]["user_id"])
    admin.revoke_token(mine["info"]["id"])
    with pytest.raises(AuthError):
        server.client_with(mine["token"]).me()
    assert mine["info"]["id"] in {t["id"] for t in admin.list_tokens(all_users=True)}


def test_failed_logins_slow_down_the_client(server: LiveServer) -> None:
    now = [1_000_000.0]
    server.state.users.clock = lambda: now[0]  # the throttle's clock, advanced by hand
    client = server.client_with(None)
    for _ in range(server.state.users.throttle.client_policy.free):
        with pytest.raises(AuthError):
            client.login("admin", "wrong")
    with pytest.raises(RateLimitedError) as caught:
        client.login("admin", ADMIN_PASSWORD)  # even the right password, for now
    assert caught.value.retry_after == 1
    with pytest.raises(RateLimitedError):  # any name from this client
        server.client_with(None).login("nobody", "wrong")
    now[0] += 1
    assert client.login("admin", ADMIN_PASSWORD)["role"] == "admin"  # after the delay


def test_no_default_secret_key(tmp_path: Path) -> None:
    first = load_secret_key(Settings(home=tmp_path / "a"))
    again = load_secret_key(Settings(home=tmp_path / "a"))
    other = load_secret_key(Settings(home=tmp_path / "b"))
    assert first == again and first != other and len(first) >= 64
    mode = stat.S_IMODE((tmp_path / "a" / "secret_key").stat().st_mode)
    assert mode == 0o600
    configured = "k" * 40
    assert load_secret_key(Settings(home=tmp_path / "c", secret_key=configured)) == configured
    assert not (tmp_path / "c" / "secret_key").exists()
    with pytest.raises(Exception, match="at least"):
        load_secret_key(Settings(home=tmp_path / "d", secret_key="short"))


def test_first_start_prints_a_generated_admin_password_once(
    hoist_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = server_settings(hoist_home, admin_password=None)
    with serve(settings) as live:
        out = capfd.readouterr().err
        assert "username: admin" in out
        password = out.split("password: ")[1].split()[0]
        client = live.client_with(None)
        assert client.login("admin", password)["role"] == "admin"
    with serve(settings):
        assert "password:" not in capfd.readouterr().err


def test_a_token_revoked_by_another_process_is_refused_within_the_cache_ttl(
    server: LiveServer, admin: HoistClient
) -> None:
    from hoist.server.auth import TOKEN_CACHE_TTL

    now = [0.0]
    server.state.auth.clock = lambda: now[0]  # the server's clock, advanced by hand
    made = admin.create_token("elsewhere")
    client = server.client_with(made["token"])
    assert client.me()["auth"] == "token"  # verified, and remembered for a moment
    # Revoke in the store directly, as another server process (or the CLI) would.
    server.state.credentials.revoke_token(made["info"]["id"])
    now[0] += TOKEN_CACHE_TTL / 2
    assert client.me()["auth"] == "token"  # still trusted from memory within the TTL
    now[0] += TOKEN_CACHE_TTL
    with pytest.raises(AuthError):
        client.me()
