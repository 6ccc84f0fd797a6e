"""``hoist service run module:app``: a real uvicorn process serving a ServeAPI app whose
launches reach ``succeeded`` in the shared SQLite store, with ``--reload`` a launch after
an edit of the app's folder running the new code, and bad app strings refused with exit
code 2."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist._net import free_port
from hoist.errors import RunNotFoundError
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import Runtime
from hoist.settings import Settings
from tests.conftest import HOIST, write_files
from tests.waiting import wait_until

CALC = """
from hoist.services import Tracer
from hoist.services.response import Markdown


async def execute(inputs: dict, tracer: Tracer):
    tasks = int(inputs["tasks"])
    await tracer.markdown(f"running `{tasks}` tasks")
    print("printed by the entry point")
    return Markdown(body=f"done: {sum(range(tasks))}")
"""

APP = """
import fastapi
from hoist.services import ServeAPI, Launch, InputsError, forms as F

app = ServeAPI()

form = F.Model(
    F.Markdown("# My Service"),
    F.InputText(label="Number of Tasks", name="tasks", value="25"),
    F.Submit("Submit"),
    F.Cancel("Cancel"),
)


@app.enter(path="/", model=form, summary="My Service", tags=["Test"], version="1.0.0",
           author="your.email@domain.com")
async def enter(request: fastapi.Request, inputs: dict):
    tasks = inputs.get("tasks", 0)
    error = InputsError()
    if not tasks:
        error.add(tasks="Please specify the number of concurrent tasks.")
    if error.has_errors():
        raise error
    return Launch(request, "svc_calc:execute", inputs={"tasks": int(tasks)})

NOT_AN_APP = 42
"""


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    return write_files(tmp_path / "svc", {"svc_app.py": APP, "svc_calc.py": CALC})


def test_real_uvicorn_service_records_runs(service_dir: Path, hoist_home: Path) -> None:
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(hoist_home)}
    command = [*HOIST, "service", "run", "svc_app:app", "--port", str(port),
               "--app-dir", str(service_dir), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10) as http:

            def up() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"service exited: {proc.stderr.read()}")  # type: ignore[union-attr]
                try:
                    return http.get("/openapi.json").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(up, timeout=60, what="the service to answer", poll=0.05)
            assert http.get("/").json()["elements"][1]["name"] == "tasks"
            assert http.post("/", json={"tasks": ""}).status_code == 422
            answer = http.post("/", json={"tasks": 4})
            assert answer.status_code == 202, answer.text
            run_id = answer.json()["run_id"]
            store = Runtime(Settings(home=hoist_home)).store

            def done() -> Run | None:
                try:
                    run = store.get_run(run_id)
                except RunNotFoundError:
                    return None
                return run if run.status.is_terminal else None

            run = wait_until(done, timeout=60, what="the service's run to end")
            assert run.status == RunStatus.SUCCEEDED
            assert run.kind == "service" and run.plugin == "svc_app"
            assert run.meta["service"]["version"] == "1.0.0"
            messages = " ".join(str(e.summary()) for e in store.events(run_id))
            assert "running `4` tasks" in messages
            assert "printed by the entry point" in messages  # stdout captured for the run
            assert "done: 6" in str(run.result)
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert f"http://127.0.0.1:{port}" in err
    assert "anonymous" in err


def _descendants(pid: int) -> set[int]:
    """The PIDs of ``pid``'s child processes and theirs (Linux's ``/proc``)."""
    found: set[int] = set()
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in map(int, listing.read_text().split()):
                found |= {child, *_descendants(child)}
    return found


def test_reload_runs_the_edited_code(service_dir: Path, hoist_home: Path, tmp_path: Path) -> None:
    """``--reload --app-dir``: a launch after an edit of the entry point's module runs the
    new code (the reloader restarted its worker), in the same store, on the same port."""
    port = free_port()
    elsewhere = tmp_path / "elsewhere"  # the current folder is not the app's
    elsewhere.mkdir()
    env = {**os.environ, "HOIST_HOME": str(hoist_home)}
    command = [*HOIST, "service", "run", "svc_app:app", "--port", str(port), "--reload",
               "--app-dir", str(service_dir), "--log-level", "warning"]  # fmt: skip
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen(
        command, cwd=elsewhere, env=env, stdout=log, stderr=log, text=True,
        start_new_session=True,  # its workers are in its process group
    )  # fmt: skip
    store = Runtime(Settings(home=hoist_home)).store
    workers: set[int] = set()  # the reloader's, killed by PID if left behind

    def result_of_a_launch(http: httpx.Client) -> str | None:
        """Launch and wait for the run's result; ``None`` while the service is down."""
        if proc.poll() is not None:
            raise AssertionError(f"service exited: {(tmp_path / 'service.log').read_text()}")
        workers.update(_descendants(proc.pid))
        try:
            answer = http.post("/", json={"tasks": 4})
        except httpx.TransportError:  # restarting
            return None
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["run_id"]

        def ended() -> Run | None:
            try:
                run = store.get_run(run_id)
            except RunNotFoundError:
                return None
            return run if run.status.is_terminal else None

        run = wait_until(ended, timeout=60, what=f"run {run_id} to end")
        assert run.status == RunStatus.SUCCEEDED, run.error
        return str(run.result)

    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            first = wait_until(lambda: result_of_a_launch(http), 120, "the service to launch")
            assert "done: 6" in first
            calc = service_dir / "svc_calc.py"
            calc.write_text(calc.read_text().replace('f"done: ', 'f"edited: '))

            def edited() -> bool:
                result = result_of_a_launch(http)
                return result is not None and "edited: 6" in result

            wait_until(edited, 60, "a launch to run the edited code", poll=0.1)
    finally:
        proc.send_signal(signal.SIGINT)  # the reloader stops its worker, then itself
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(pid) == proc.pid:  # still ours, not a reused PID
                    os.kill(pid, signal.SIGKILL)
        log.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("svc_app", "module:attribute"),
        ("no_such_module:app", "cannot import"),
        ("svc_app:missing", "not found"),
        ("svc_app:NOT_AN_APP", "not an ASGI application"),
    ],
)
def test_bad_app_exits_2(service_dir: Path, hoist: Any, spec: str, message: str) -> None:
    result = hoist("service", "run", spec, "--app-dir", str(service_dir))
    assert result.code == 2
    assert message in result.err
