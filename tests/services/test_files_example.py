"""``examples/files_service``: text files uploaded, a report delivered. Served by
``hoist service run`` with a shared secret (a launch without the server's signed
identity is refused), its run's ``in/`` and ``out/`` files listed and downloaded from a
live Hoist server on the same home."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from hoist._net import free_port
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services.identity import IDENTITY_HEADER, sign
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import serve, server_settings
from tests.services.conftest import ended
from tests.waiting import wait_answering

SECRET = "example-shared-secret"


def test_files_service_uploads_and_delivers(
    hoist_home: Path, runtime: Runtime, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "HOIST_SERVICE_SECRET": SECRET}
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
            files = [
                ("texts", ("../../notes.txt", b"the cat and the hat", "text/plain")),
                ("texts", ("notes.txt", b"a dog", "text/plain")),
            ]
            with httpx.Client(timeout=30) as http:
                # No identity, a forged one: refused, nothing launched.
                assert http.post(url, data={"top": "2"}, files=files).status_code == 401
                forged = {IDENTITY_HEADER: sign("guess", "admin", "admin")}
                answer = http.post(url, data={"top": "2"}, files=files, headers=forged)
                assert answer.status_code == 401
                assert runtime.store.list_runs() == []
                identity = {IDENTITY_HEADER: sign(SECRET, "ada", "operator")}
                too_many = http.post(url, data={"top": "99"}, files=files, headers=identity)
                assert too_many.status_code == 422
                assert too_many.json()["errors"] == {"top": ["at most 50"]}
                answer = http.post(url, data={"top": "2"}, files=files, headers=identity)
                assert answer.status_code == 202, answer.text
            run_id = answer.json()["run_id"]
            run = ended(runtime, run_id, timeout=60)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    said = log_path.read_text()
    assert "signed identity" in said and "anonymous" not in said
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.meta["user"] == "ada" and run.params["texts"] == ["in/notes.txt", "in/notes (1).txt"]
    assert "the (2), cat (1)" in str(run.result) and "out/report.md" in str(run.result)
    with serve(server_settings(hoist_home)) as live:
        http = live.http(live.token("viewer"))
        listed = http.get(f"/api/v1/runs/{run_id}/artifacts").json()
        assert [f["path"] for f in listed] == ["in/notes (1).txt", "in/notes.txt", "out/report.md"]
        report = http.get(f"/api/v1/runs/{run_id}/artifacts/out/report.md")
        assert report.status_code == 200 and "**notes.txt**: 5 words" in report.text
        upload = http.get(f"/api/v1/runs/{run_id}/artifacts/in/notes.txt")
        assert upload.content == b"the cat and the hat"
        assert http.get(f"/api/v1/runs/{run_id}/artifacts/in/../../hoist.db").status_code in (
            400,
            404,
        )
