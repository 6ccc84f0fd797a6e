"""Files uploaded through the Hoist server to a registered service: ``examples/files_service``
under ``hoist service run`` (sharing the test's SQLite store and the server's secret) gets
a ``multipart/form-data`` launch streamed through ``POST /api/v1/services/{id}/launch``
and from the panel's launch form; the run's ``in/`` holds the files under sanitised
names and its report lands in ``out/``. Files over the service's limit or the server's
own (``Settings.max_upload_bytes``) are 413 and nothing is launched."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hoist._net import free_port
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.server.service_calls import UPLOAD_PATHS
from tests.conftest import EXAMPLES, HOIST
from tests.panel.conftest import PASSWORD, add_user, csrf_of
from tests.server.conftest import LiveServer, serve, server_settings
from tests.server.live_services import SECRET, status_of
from tests.services.conftest import ended
from tests.waiting import wait_until

FILES = [
    ("texts", ("../../notes.txt", b"the cat and the hat", "text/plain")),
    ("texts", ("notes.txt", b"a dog", "text/plain")),
]


@contextlib.contextmanager
def files_service(home: Path, log: Path) -> Iterator[str]:
    """``examples/files_service`` under ``hoist service run`` on ``home``'s store, with
    the shared secret; its base URL."""
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(home), "HOIST_SERVICE_SECRET": SECRET}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*HOIST, "service", "run", "files_service.app:app", "--port", str(port),
             "--log-level", "warning"],
            cwd=EXAMPLES, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=5) as http:

            def up() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"the service exited: {log.read_text()}")
                try:
                    return http.get(f"{base}/openapi.json").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(up, 60, f"the service at {base}", poll=0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def registered(live: LiveServer, base: str) -> str:
    """Register the service at ``base`` with ``live``; its id once read."""
    operator = live.token("operator")
    answer = live.http(operator).post("/api/v1/services", json={"url": f"{base}/openapi.json"})
    assert answer.status_code == 201, answer.text
    service_id: str = answer.json()["id"]
    status_of(live, operator, service_id, "ok")
    return service_id


@pytest.fixture
def service(hoist_home: Path, tmp_path: Path) -> Iterator[str]:
    """The files service's base URL."""
    with files_service(hoist_home, tmp_path / "service.log") as base:
        yield base


@pytest.fixture
def setup(hoist_home: Path, service: str) -> Iterator[tuple[LiveServer, str]]:
    """A server with the files service registered: the server and the service's id."""
    settings = server_settings(hoist_home, service_secret=SECRET)
    with serve(settings, keepalive=0.5) as live:
        yield live, registered(live, service)


def test_files_uploaded_through_the_api_reach_the_run(
    setup: tuple[LiveServer, str], runtime: Runtime
) -> None:
    live, service_id = setup
    http = live.http(live.token("operator", "olga"))
    answer = http.post(
        f"/api/v1/services/{service_id}/launch", params={"path": "/"},
        data={"top": "2"}, files=FILES,
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    assert answer.json()["url"] == f"/runs/{run_id}"
    run = ended(runtime, run_id, timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.meta["user"] == "olga"  # the signed identity crossed with the body
    assert run.params["texts"] == ["in/notes.txt", "in/notes (1).txt"]  # "../../" gone
    viewer = live.http(live.token("viewer"))
    listed = [f["path"] for f in viewer.get(f"/api/v1/runs/{run_id}/artifacts").json()]
    assert listed == ["in/notes (1).txt", "in/notes.txt", "out/report.md"]
    got = viewer.get(f"/api/v1/runs/{run_id}/artifacts/in/notes.txt")
    assert got.content == b"the cat and the hat"
    report = viewer.get(f"/api/v1/runs/{run_id}/artifacts/out/report.md")
    assert "**notes.txt**: 5 words" in report.text


def test_a_large_file_streams_through(setup: tuple[LiveServer, str], runtime: Runtime) -> None:
    # Four MiB: over the server's 1 MiB body limit for JSON, under the service's 5 MB.
    live, service_id = setup
    big = b"word " * (4 * 1024 * 1024 // 5)
    answer = live.http(live.token("operator")).post(
        f"/api/v1/services/{service_id}/launch",
        data={"top": "1"}, files=[("texts", ("big.txt", big, "text/plain"))],
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    run = ended(runtime, answer.json()["run_id"], timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (runtime.settings.runs_dir / run.id / "in" / "big.txt").read_bytes() == big


def test_a_file_over_the_services_limit_is_413_and_nothing_runs(
    setup: tuple[LiveServer, str], runtime: Runtime
) -> None:
    live, service_id = setup
    huge = b"x" * (5 * 1024 * 1024 + 1)
    answer = live.http(live.token("operator")).post(
        f"/api/v1/services/{service_id}/launch",
        data={"top": "1"}, files=[("texts", ("huge.txt", huge, "text/plain"))],
    )  # fmt: skip
    assert answer.status_code == 413, answer.text
    assert "huge.txt" in answer.json()["detail"]
    assert runtime.store.list_runs() == []


def test_a_body_over_the_servers_upload_limit_is_413_unforwarded(
    hoist_home: Path, service: str, runtime: Runtime
) -> None:
    settings = server_settings(
        hoist_home, service_secret=SECRET, max_upload_bytes=64 * 1024, max_body_bytes=16 * 1024
    )
    with serve(settings, keepalive=0.5) as live:
        service_id = registered(live, service)
        http = live.http(live.token("operator"))
        over = [("texts", ("a.txt", b"y" * (100 * 1024), "text/plain"))]
        answer = http.post(f"/api/v1/services/{service_id}/launch", data={"top": "1"}, files=over)
        assert answer.status_code == 413
        assert "65536" in answer.json()["detail"]
        assert runtime.store.list_runs() == []
        # Over the body limit, under the upload limit: a multipart launch only.
        mid = [("texts", ("b.txt", b"z " * (16 * 1024), "text/plain"))]
        ok = http.post(f"/api/v1/services/{service_id}/launch", data={"top": "1"}, files=mid)
        assert ok.status_code == 202, ok.text
        as_json = {"top": 1, "texts": "z " * (16 * 1024)}
        assert http.post(f"/api/v1/services/{service_id}/launch", json=as_json).status_code == 413
        assert http.post("/api/v1/services", files=mid).status_code == 413  # elsewhere


def test_bad_launch_bodies(setup: tuple[LiveServer, str], runtime: Runtime) -> None:
    live, service_id = setup
    http = live.http(live.token("operator"))
    url = f"/api/v1/services/{service_id}/launch"
    # The service's own checks pass through: a required upload missing, too many words.
    missing = http.post(url, data={"top": "2"}, files=[("other", ("a.txt", b"a", "text/plain"))])
    assert missing.status_code == 422 and "texts" in missing.json()["errors"]
    too_many = http.post(url, data={"top": "99"}, files=FILES)
    assert too_many.status_code == 422 and too_many.json()["errors"] == {"top": ["at most 50"]}
    # Not multipart: a JSON object or nothing.
    assert (
        http.post(url, content=b"{nope", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    assert http.post(url, json=[1, 2]).status_code == 422
    assert http.post(url).status_code == 422
    # A multipart body without a boundary: the service refuses it.
    bare = http.post(url, content=b"x", headers={"Content-Type": "multipart/form-data"})
    assert bare.status_code == 422
    # An unknown endpoint: 404 before anything is read or sent.
    assert (
        http.post(url, params={"path": "/nope"}, data={"top": "1"}, files=FILES).status_code == 404
    )
    # Viewers may not launch.
    viewer = live.http(live.token("viewer"))
    assert viewer.post(url, data={"top": "1"}, files=FILES).status_code == 403
    assert runtime.store.list_runs() == []


def test_the_panel_form_posts_files(setup: tuple[LiveServer, str], runtime: Runtime) -> None:
    live, service_id = setup
    with live.http() as page:
        data = {"username": add_user(live, "operator"), "password": PASSWORD,
                "csrf_token": csrf_of(page.get("/login").text)}  # fmt: skip
        assert page.post("/login", data=data).status_code == 303
        form = page.get(f"/services/{service_id}/enter", params={"path": "/"})
        assert 'enctype="multipart/form-data"' in form.text
        token = csrf_of(form.text)
        url = f"/services/{service_id}/enter?path=/"
        # Over the service's limit: 413, said next to the upload field; nothing runs.
        huge = [("texts", ("huge.txt", b"x" * (5 * 1024 * 1024 + 1), "text/plain"))]
        refused = page.post(url, data={"csrf_token": token, "top": "1"}, files=huge)
        assert refused.status_code == 413
        assert 'data-field="texts"' in refused.text and "huge.txt" in refused.text
        assert runtime.store.list_runs() == []
        # Without the CSRF token: refused before anything is forwarded.
        assert page.post(url, data={"top": "1"}, files=FILES).status_code == 403
        assert runtime.store.list_runs() == []
        sent = page.post(url, data={"csrf_token": token, "top": "2"}, files=FILES)
        assert sent.status_code == 303, sent.text
    run_id = sent.headers["location"].removeprefix("/runs/")
    run = ended(runtime, run_id, timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.params["texts"] == ["in/notes.txt", "in/notes (1).txt"]
    assert "csrf_token" not in run.params  # the session's token stays on the server


def test_upload_paths() -> None:
    assert UPLOAD_PATHS.fullmatch("/api/v1/services/abc/launch")
    assert UPLOAD_PATHS.fullmatch("/services/abc/enter")
    assert not UPLOAD_PATHS.fullmatch("/api/v1/runs/abc/launch")
    assert not UPLOAD_PATHS.fullmatch("/api/v1/services/a/b/launch")
