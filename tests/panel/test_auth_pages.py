"""Login, logout, redirects and CSRF on the panel, against a live server."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from hoist.server.panel.access import safe_next
from tests.panel.conftest import Login, csrf_of
from tests.server.conftest import ADMIN_PASSWORD, LiveServer

EXTERNAL = [
    "//evil.example/x",
    "///evil.example",
    "http://evil.example/",
    "https://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "evil.example/runs",
    "/runs\r\nSet-Cookie: x=1",
    "",
]


def _log_in(http: httpx.Client, **data: Any) -> httpx.Response:
    """Post the login form as a browser does: with the token of the form it was shown."""
    return http.post("/login", data={**data, "csrf_token": csrf_of(http.get("/login").text)})


@pytest.mark.parametrize("target", EXTERNAL)
def test_safe_next_refuses_anything_but_a_local_path(target: str) -> None:
    assert safe_next(target) == "/runs"


@pytest.mark.parametrize("target", ["/plugins", "/runs/abc?before=3", "/runs?page=2&status=x"])
def test_safe_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "path", ["/runs", "/runs/abc123def", "/plugins", "/plugins/paneltest/actions/count", "/"]
)
def test_pages_redirect_to_the_login_page_when_logged_out(panel: LiveServer, path: str) -> None:
    http = panel.http()
    response = http.get(path + "?page=2" if path == "/runs" else path)
    assert response.status_code == 303
    location = response.headers["location"]
    if path == "/":
        assert location == "/runs"
        return
    expected = path + "?page=2" if path == "/runs" else path
    assert location == "/login?next=" + quote(expected, safe="/")
    login = http.get(location)
    assert login.status_code == 200
    assert f'name="next" value="{expected}"' in login.text


def test_posts_redirect_to_login_when_logged_out(panel: LiveServer) -> None:
    http = panel.http()
    for path in ("/runs/abc123def/cancel", "/plugins/paneltest/actions/count", "/logout"):
        response = http.post(path, data={"csrf_token": "x"})
        assert response.status_code == 303, path
        assert response.headers["location"] == "/login?next=/runs"


def test_login_and_logout(panel: LiveServer) -> None:
    http = panel.http()
    page = http.get("/login?next=/plugins")
    assert page.status_code == 200
    assert '<meta name="viewport"' in page.text
    assert "content-security-policy" in page.headers
    login_cookie = page.headers["set-cookie"].lower()
    assert "hoist_login=" in login_cookie and "samesite=strict" in login_cookie
    assert "httponly" in login_cookie
    form = {"username": "admin", "password": ADMIN_PASSWORD, "next": "/plugins"}
    response = http.post("/login", data={**form, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/plugins"
    cookie = response.headers["set-cookie"].lower()
    assert "hoist_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    plugins = http.get("/plugins")
    assert plugins.status_code == 200 and "admin" in plugins.text
    # Already logged in: the login page goes straight on.
    assert http.get("/login?next=/runs").headers["location"] == "/runs"

    token = csrf_of(plugins.text)
    assert http.post("/logout", data={}).status_code == 403  # no CSRF token
    assert http.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    response = http.post("/logout", data={"csrf_token": token, "next": "//evil.example"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert http.get("/runs").status_code == 303  # the session is over
    assert http.get("/api/v1/auth/me").status_code == 401


def test_wrong_password_shows_the_form_again(panel: LiveServer) -> None:
    http = panel.http()
    response = _log_in(http, username="admin", password="wrong", next="/plugins")
    assert response.status_code == 401
    assert "invalid username or password" in response.text
    assert 'value="admin"' in response.text and "wrong" not in response.text
    assert "hoist_session" not in response.headers.get("set-cookie", "")
    again = http.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                      "csrf_token": csrf_of(response.text)})  # fmt: skip
    assert again.status_code == 303  # the form shown again carries a fresh token
    empty = _log_in(server_http := panel.http(), username="", password="")
    assert empty.status_code == 422 and server_http.get("/runs").status_code == 303


def test_failed_logins_are_rate_limited(panel: LiveServer) -> None:
    now = [1_000_000.0]
    panel.state.users.clock = lambda: now[0]  # the throttle's clock, advanced by hand
    http = panel.http()
    for _ in range(panel.state.users.throttle.client_policy.free):
        assert _log_in(http, username="admin", password="no").status_code == 401
    limited = _log_in(http, username="admin", password=ADMIN_PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) == 1
    assert "too many failed logins" in limited.text


@pytest.mark.parametrize("target", EXTERNAL)
def test_login_never_redirects_off_site(panel: LiveServer, target: str) -> None:
    http = panel.http()
    page = http.get("/login", params={"next": target})
    assert 'name="next" value="/runs"' in page.text
    form = {"username": "admin", "password": ADMIN_PASSWORD, "next": target}
    response = http.post("/login", data={**form, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/runs"
    again = http.get("/login", params={"next": target})
    assert again.headers["location"] == "/runs"


def test_posts_need_the_csrf_token(panel: LiveServer, login: Login) -> None:
    http, token = login("operator")
    run_id = (
        http.post(
            "/plugins/paneltest/actions/count",
            data={"csrf_token": token, "steps": "2000", "delay": "0.05", "label": "x"},
        )
        .headers["location"]
        .rsplit("/", 1)[-1]
    )
    for path, data in [
        (f"/runs/{run_id}/cancel", {}),
        (f"/runs/{run_id}/cancel", {"csrf_token": "forged"}),
        (f"/runs/{run_id}/resume", {}),
        ("/plugins/paneltest/actions/count", {"steps": "1", "label": "x"}),
        ("/logout", {}),
    ]:
        response = http.post(path, data=data)
        assert response.status_code == 403, path
        assert "text/html" in response.headers["content-type"]
        assert "CSRF" in response.text
    assert panel.state.store.get_run(run_id).status.is_terminal is False
    assert http.post(f"/runs/{run_id}/cancel", data={"csrf_token": token}).status_code == 303


def test_static_files_are_served(panel: LiveServer) -> None:
    http = panel.http()
    for name, kind in [("run.js", "javascript"), ("runs.js", "javascript"),
                       ("charts.js", "javascript"), ("common.js", "javascript"),
                       ("panel.css", "text/css")]:  # fmt: skip
        response = http.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"], name
    assert http.get("/static/../templates/base.html").status_code == 404
    plotly = http.get("/static/vendor/plotly.min.js")  # from the plotly package, no CDN
    assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"]
    assert "immutable" in plotly.headers["cache-control"]
