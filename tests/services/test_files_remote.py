"""Run files of a service that records through a Hoist server's ingest (its own home, a
folder the server does not share): the form's uploads (``in/``) and what the entry
point writes with ``fs.open`` / ``fs_sync().open`` (``out/``) are published to the
server, which lists and serves them byte for byte, whether the execution runs
in-process or on a Ray actor; a file or folder the run removes is gone from the server
too."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi
import httpx
import pytest

from hoist._net import free_port
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import Launch, ServeAPI
from hoist.services import forms as F
from hoist.settings import Settings
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import LiveServer, serve, server_settings
from tests.services.conftest import ended
from tests.services.test_app import serving
from tests.waiting import wait_answering

FORM = F.Model(F.InputFiles("docs", "Documents", multiple=True, required=True), F.Submit("Go"))
UPLOADS = [
    ("docs", ("../a.txt", b"alpha\n", "text/plain")),  # sanitised to a.txt
    ("docs", ("b.bin", bytes(range(256)), "application/octet-stream")),
]


async def write_async(inputs: dict[str, Any], tracer: Any) -> list[str]:
    """Reads its uploads and writes a deliverable with ``await fs.open``."""
    fs = await tracer.fs()
    sizes = [len(await fs.read(path)) for path in inputs["docs"]]
    handle = await fs.open("out/async.txt", "w")
    async with handle:
        await handle.write(f"sizes {sizes}")
    return [entry["path"] for entry in await fs.ls("in")]


def write_sync(inputs: dict[str, Any], tracer: Any) -> list[str]:
    """The same with ``fs_sync().open``; and a file and a folder written, then removed."""
    fs = tracer.fs_sync()
    with fs.open("out/sync.bin", "wb") as out:
        out.write(fs.read(inputs["docs"][1])[::-1])
    with fs.open("out/draft.txt", "w") as draft:
        draft.write("draft")
    fs.remove("out/draft.txt")
    for name in ("one", "two"):
        with fs.open(f"out/scratch/{name}.txt", "w") as scratch:
            scratch.write(name)
    fs.remove("out/scratch")
    return [entry["path"] for entry in fs.ls("in")]


def build(runtime: Runtime, executor: Any = None) -> ServeAPI:
    app = ServeAPI(runtime=runtime, executor=executor)

    @app.enter("/async", model=FORM, summary="Async")
    async def enter_async(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, write_async, inputs=inputs)

    @app.enter("/sync", model=FORM, summary="Sync")
    async def enter_sync(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, write_sync, inputs=inputs)

    return app


@pytest.fixture
def live(hoist_home: Path) -> Iterator[LiveServer]:
    with serve(server_settings(hoist_home)) as server:
        yield server


def files_on_server(live: LiveServer, run_id: str) -> dict[str, bytes]:
    """Every file the server's API lists for the run, downloaded."""
    http = live.http(live.token("viewer"))
    listed = http.get(f"/api/v1/runs/{run_id}/artifacts")
    assert listed.status_code == 200, listed.text
    got = {}
    for entry in listed.json():
        answer = http.get(f"/api/v1/runs/{run_id}/artifacts/{entry['path']}")
        assert answer.status_code == 200 and len(answer.content) == entry["size"]
        got[entry["path"]] = answer.content
    return got


INPUTS = {"in/a.txt": b"alpha\n", "in/b.bin": bytes(range(256))}


def launch_both(live: LiveServer, service_home: Path, executor: Any = None) -> dict[str, str]:
    """Launch ``/async`` and ``/sync`` on a service recording through ``live`` (with
    ``executor``, a pool made for the service's runtime, or the default in-process
    one); the ended runs' ids by path, once each succeeded."""
    settings = Settings(home=service_home, server_url=live.url)
    service = Runtime(settings, token=live.token("operator", worker=True))
    server_side = Runtime(Settings(home=live.state.runtime.settings.home))
    assert service.remote
    pool = None if executor is None else executor(service)
    try:
        with serving(build(service, pool)) as client:
            launched = {}
            for path in ("/async", "/sync"):
                answer = client.post(path, files=UPLOADS)
                assert answer.status_code == 202, answer.text
                launched[path] = answer.json()["run_id"]
            runs = {path: ended(server_side, run_id, 60) for path, run_id in launched.items()}
    finally:
        if pool is not None:
            pool.close()
        service.close()
        server_side.close()
    for run in runs.values():
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.result == ["in/a.txt", "in/b.bin"]
    return {path: run.id for path, run in runs.items()}


def assert_published(live: LiveServer, runs: dict[str, str], service_home: Path) -> None:
    async_run, sync_run = runs["/async"], runs["/sync"]
    assert files_on_server(live, async_run) == {**INPUTS, "out/async.txt": b"sizes [6, 256]"}
    # The draft and the scratch folder were published when closed, then removed: from
    # the run's own folder and from the server.
    assert files_on_server(live, sync_run) == {**INPUTS, "out/sync.bin": bytes(range(256))[::-1]}
    for gone in ("out/draft.txt", "out/scratch"):
        assert not (service_home / "runs" / sync_run / gone).exists()
    # The server's copies are in its own folder, the service's in its.
    server_runs = live.state.runtime.runs_dir
    for run_id in (async_run, sync_run):
        assert (server_runs / run_id / "in/b.bin").is_file()
        assert (service_home / "runs" / run_id / "in/b.bin").is_file()


def test_a_remote_service_publishes_its_uploads_and_deliverables(
    live: LiveServer, tmp_path: Path
) -> None:
    service_home = tmp_path / "service"
    assert_published(live, launch_both(live, service_home), service_home)


def test_a_remote_service_on_ray_publishes_its_uploads_and_deliverables(
    ray_cluster: Any, live: LiveServer, tmp_path: Path
) -> None:
    """The same executions on a warm Ray actor (the driver's home, the server and its
    worker token handed over): the uploads are published as the execution starts there."""
    from hoist.services.ray_pool import RayServicePool

    def on_ray(runtime: Runtime) -> RayServicePool:
        return RayServicePool(runtime, address=ray_cluster.address, actors=1)

    service_home = tmp_path / "service"
    runs = launch_both(live, service_home, on_ray)
    assert_published(live, runs, service_home)


def test_the_files_example_through_a_remote_server(
    live: LiveServer, hoist_home: Path, tmp_path: Path
) -> None:
    """``examples/files_service`` served with its own home, recording through the
    server: the uploads and the report are on the server."""
    port = free_port()
    env = {
        **os.environ,
        "HOIST_HOME": str(tmp_path / "service"),
        "HOIST_SERVER_URL": live.url,
        "HOIST_TOKEN": live.token("operator", worker=True),
    }
    env.pop("HOIST_DATABASE_URL", None)
    env.pop("HOIST_SERVICE_SECRET", None)
    server_side = Runtime(Settings(home=hoist_home))
    log_path = tmp_path / "service.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*HOIST, "service", "run", "files_service.app:app", "--port", str(port),
             "--log-level", "warning"],
            cwd=EXAMPLES, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_answering(proc, url, 60)
            files = [("texts", ("notes.txt", b"the cat and the hat", "text/plain"))]
            answer = httpx.post(url, data={"top": "2"}, files=files, timeout=30)
            assert answer.status_code == 202, answer.text
            run = ended(server_side, answer.json()["run_id"], timeout=60)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    assert run.status == RunStatus.SUCCEEDED, (run.error, log_path.read_text())
    got = files_on_server(live, run.id)
    assert sorted(got) == ["in/notes.txt", "out/report.md"]
    assert got["in/notes.txt"] == b"the cat and the hat"
    assert b"**notes.txt**: 5 words" in got["out/report.md"]
    assert (tmp_path / "service/runs" / run.id / "out/report.md").is_file()
    server_side.close()
