"""Bad input and attacks: malformed and oversized bodies, unexpected errors, CORS,
security headers. None may produce a 500 for a user's mistake or leak a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hoist.settings import Settings
from tests.server.conftest import LiveServer, serve, server_settings

API = "/api/v1"


def test_malformed_json_is_a_400(server: LiveServer) -> None:
    http = server.http(server.token())
    for body in (b"{bad", b"[1,", b"\xff\xfe", b'{"plugin": "sim_train", "action": }'):
        response = http.post(
            f"{API}/runs", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, body
        assert response.json() == {"detail": "malformed JSON body"}
    wrong_shape = http.post(f"{API}/runs", json=[1, 2])
    assert wrong_shape.status_code == 422


def test_oversized_bodies_are_refused(hoist_home: Path) -> None:
    with serve(server_settings(hoist_home, max_body_bytes=2048)) as live:
        http = live.http(live.token())
        big = {"plugin": "sim_train", "action": "train", "params": {"x": "a" * 4096}}
        assert http.post(f"{API}/runs", json=big).status_code == 413

        def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
            yield b'{"plugin": "sim_train", "action": "train", "params": {"x": "'
            for _ in range(10):
                yield b"a" * 1024
            yield b'"}}'

        response = http.post(
            f"{API}/runs", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert "larger than 2048" in response.json()["detail"]
        assert http.get(f"{API}/health").status_code == 200


def test_unexpected_errors_are_a_generic_500_with_an_error_id(hoist_home: Path) -> None:
    def add_failing_route(app: Any) -> None:
        async def boom() -> None:
            raise RuntimeError("db password is hunter2")

        app.add_api_route("/api/v1/boom", boom)

    with serve(server_settings(hoist_home), prepare=add_failing_route) as live:
        response = live.http().get(f"{API}/boom")
        assert response.status_code == 500
        body = response.json()
        assert body["detail"] == "internal server error" and len(body["error_id"]) == 12
        assert "hunter2" not in response.text and "Traceback" not in response.text


def test_validation_errors_name_every_field(server: LiveServer) -> None:
    http = server.http(server.token())
    response = http.get(f"{API}/runs", params={"limit": 0, "offset": -1, "status": "bogus"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"limit", "offset", "status.0"}


def test_cors_is_closed_by_default(server: LiveServer) -> None:
    http = server.http(server.token())
    response = http.get(f"{API}/runs", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = http.options(
        f"{API}/runs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_listed_origins(hoist_home: Path) -> None:
    settings = server_settings(hoist_home, cors_origins=("https://panel.example",))
    with serve(settings) as live:
        http = live.http(live.token())
        ok = http.get(f"{API}/runs", headers={"Origin": "https://panel.example"})
        assert ok.headers["access-control-allow-origin"] == "https://panel.example"
        assert ok.headers["access-control-allow-credentials"] == "true"
        evil = http.get(f"{API}/runs", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        preflight = http.options(
            f"{API}/runs",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers.get("access-control-allow-origin") != "https://evil.example"


def test_security_headers_and_metrics(server: LiveServer) -> None:
    http = server.http(server.token())
    response = http.get(f"{API}/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    http.post(f"{API}/runs", json={"plugin": "text_stats", "action": "word_count"})
    text = http.get("/metrics").text
    assert 'hoist_runs_launched_total{kind="action",mode="local"} 1.0' in text
    assert 'hoist_http_requests_total{method="POST",route="/api/v1/runs",status="202"}' in text
    assert "hoist_http_request_duration_seconds_bucket" in text


def test_openapi_is_served_to_authenticated_callers(server: LiveServer) -> None:
    http = server.http(server.token("viewer"))
    spec = http.get(f"{API}/openapi.json").json()
    launch = spec["paths"]["/api/v1/runs"]["post"]
    assert launch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "LaunchRequest"
    )
    assert "202" in launch["responses"] and "422" in launch["responses"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {
            "HOIST_SERVER_PORT": "9000",
            "HOIST_CORS_ORIGINS": "https://a.example, https://b.example",
            "HOIST_MAX_BODY_BYTES": "4096",
            "HOIST_SECURE_COOKIES": "true",
            "HOIST_SECRET_KEY": "s" * 40,
            "HOIST_ADMIN_PASSWORD": "pw-from-env",
        }
    )
    assert settings.server_port == 9000 and settings.server_host == "127.0.0.1"
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.max_body_bytes == 4096 and settings.secure_cookies
    assert "pw-from-env" not in repr(settings) and "s" * 40 not in repr(settings)
    defaults = Settings.from_env({})
    assert defaults.secret_key is None and defaults.admin_password is None
    assert defaults.cors_origins == () and defaults.max_body_bytes == 1024 * 1024
    for bad in ({"HOIST_SERVER_PORT": "http"}, {"HOIST_SECURE_COOKIES": "maybe"}):
        try:
            Settings.from_env(bad)
        except Exception as exc:
            assert next(iter(bad)) in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def test_the_openapi_document_tells_the_truth(server: LiveServer) -> None:
    http = server.http(server.token())
    spec = http.get(f"{API}/openapi.json").json()
    assert not {"HTTPValidationError", "ValidationError"} & set(spec["components"]["schemas"])
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            codes = operation["responses"]
            if "requestBody" in operation:  # every JSON body can be malformed or too large
                assert {"400", "413", "422"} <= set(codes), (method, path)
            for code, response in codes.items():
                if code.startswith(("4", "5")) and "content" in response:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    for body in (b"\x00", b"{bad"):  # the documented 400, with Hoist's error body
        for route in ("tokens", "users"):
            response = http.post(f"{API}/{route}", content=body,
                                 headers={"content-type": "application/json"})  # fmt: skip
            assert response.status_code == 400 and response.json()["detail"]
    # Schema-valid: an unknown plugin is the documented 404; without a target, the
    # schema (oneOf action/pipeline) and the server both refuse it.
    launch = spec["components"]["schemas"]["LaunchRequest"]
    assert [b["required"] for b in launch["oneOf"]] == [["action"], ["pipeline"]]
    assert http.post(f"{API}/runs", json={"plugin": "slow", "action": "a"}).status_code == 404
    missing = http.post(f"{API}/runs", json={"plugin": "slow"})
    assert missing.status_code == 422 and "give exactly one" in missing.text
    alive = spec["components"]["schemas"]["WorkerBatch"]["properties"]["alive"]["items"]
    assert alive["pattern"] == "^[A-Za-z0-9_\\-]{1,40}$"


def test_a_method_a_path_does_not_take_gets_405_with_the_full_allow(server: LiveServer) -> None:
    http = server.http(server.token())
    for path, allowed in (
        ("/runs", "GET, POST"),
        ("/users", "GET, POST"),
        ("/tokens", "GET, POST"),
        ("/users/abc123", "DELETE, GET, PATCH"),
        ("/runs/abc123/artifacts/a.txt", "DELETE, GET, PUT"),
    ):
        for method in ("OPTIONS", "TRACE"):
            response = http.request(method, f"{API}{path}")
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == allowed, (method, path)
