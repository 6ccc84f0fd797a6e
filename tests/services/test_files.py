"""Run files: ``tracer.fs()`` / ``fs_sync()`` on the run's folder, every way out of it
refused, deliverables of a real pool's run in ``out/``, and a remote worker's uploads
listed and downloadable on a live server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import RunPathError
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import TracerMock
from hoist.services.files import AsyncRunFiles, RunFiles
from hoist.services.pool import ServicePool
from hoist.settings import Settings
from tests.services.conftest import ended, launch


@pytest.fixture
def files(tmp_path: Path) -> RunFiles:
    return RunFiles(tmp_path / "runs" / "r1")


def test_write_list_read_download_remove(files: RunFiles, tmp_path: Path) -> None:
    assert files.ls() == [] and files.ls("in") == [] and files.ls("out") == []
    with files.open("out/report.txt", "w") as out:
        out.write("hello")
    local = tmp_path / "local.csv"
    local.write_bytes(b"a,b\n1,2\n")
    assert files.upload(local, "in/data.csv") == "in/data.csv"
    assert files.ls() == [
        {"path": "in", "size": 0, "is_dir": True},
        {"path": "out", "size": 0, "is_dir": True},
    ]
    assert files.ls("out") == [{"path": "out/report.txt", "size": 5, "is_dir": False}]
    assert files.read("in/data.csv") == b"a,b\n1,2\n"
    with files.open("out/report.txt") as back:
        assert back.read() == b"hello"
    copied = files.download("out/report.txt", tmp_path)
    assert copied == tmp_path / "report.txt" and copied.read_text() == "hello"
    assert files.path("out/report.txt") == (tmp_path / "runs/r1/out/report.txt").resolve()
    files.remove("out/report.txt")
    assert files.ls("out") == []
    files.remove("in")
    assert files.ls() == [{"path": "out", "size": 0, "is_dir": True}]
    with pytest.raises(FileNotFoundError):
        files.read("out/report.txt")
    with pytest.raises(FileNotFoundError):
        files.ls("nowhere")
    with pytest.raises(FileNotFoundError):
        files.upload(tmp_path / "missing", "out/x")
    with pytest.raises(ValueError, match="mode"):
        files.open("out/x", "rw+z")


@pytest.mark.parametrize(
    "path",
    ["../x", "out/../../x", "..", "/etc/passwd", "in/\x00x", "in\\..\\x", "", ".", "out/.."],
)
def test_paths_that_leave_the_folder_are_refused(files: RunFiles, path: str) -> None:
    for call in (
        lambda: files.read(path),
        lambda: files.open(path, "wb"),
        lambda: files.upload(__file__, path),
        lambda: files.download(path, "/tmp/never"),
        lambda: files.remove(path),
        lambda: files.path(path),
    ):
        with pytest.raises(RunPathError) as caught:
            call()
        assert caught.value.path == path or caught.value.path == repr(path)
    assert not Path("/tmp/never").exists()


def test_symlinks_out_of_the_folder_are_refused(files: RunFiles, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not the run's")
    (tmp_path / "elsewhere").mkdir()
    files.open("in/ok.txt", "w").close()
    os.symlink(secret, files.root / "in" / "leak.txt")
    os.symlink(tmp_path / "elsewhere", files.root / "out")
    with pytest.raises(RunPathError, match="symlink"):
        files.read("in/leak.txt")
    with pytest.raises(RunPathError, match="symlink"):
        files.open("out/new.txt", "w")  # through a linked folder: nothing written there
    assert list((tmp_path / "elsewhere").iterdir()) == []
    with pytest.raises(RunPathError, match="symlink"):
        files.ls("out")
    # Listing leaves out what leads out; removing a link removes the link only.
    assert [e["path"] for e in files.ls("in")] == ["in/ok.txt"]
    files.remove("in/leak.txt")
    assert secret.read_text() == "not the run's"
    assert not (files.root / "in" / "leak.txt").exists()


def test_async_files(files: RunFiles, tmp_path: Path) -> None:
    async def work() -> list[dict[str, Any]]:
        async with AsyncRunFiles(files) as fs:
            handle = await fs.open("out/a.bin", "wb")
            async with handle:
                await handle.write(b"\x00\x01")
            assert await fs.read("out/a.bin") == b"\x00\x01"
            await fs.download("out/a.bin", tmp_path / "a.bin")
            await fs.upload(tmp_path / "a.bin", "out/b.bin")
            with pytest.raises(RunPathError):
                await fs.read("../a.bin")
            await fs.remove("out/a.bin")
            return await fs.ls("out")

    assert asyncio.run(work()) == [{"path": "out/b.bin", "size": 2, "is_dir": False}]


def test_tracer_mock_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tracer = TracerMock("fid-1")
    with tracer.fs_sync() as fs:
        fs.open("out/x.txt", "w").close()
    assert (tmp_path / ".hoist-runs" / "fid-1" / "out" / "x.txt").is_file()


async def deliver(inputs: dict[str, Any], tracer: Any) -> list[str]:
    """An entry point that writes a deliverable and reads its own output back."""
    fs = await tracer.fs()
    handle = await fs.open("out/answer.txt", "w")
    async with handle:
        await handle.write(f"answer: {inputs['n'] * 2}")
    try:
        await fs.read("../../hoist.db")
    except RunPathError as exc:
        await tracer.markdown(f"refused: {exc.reason}")
    return [entry["path"] for entry in await fs.ls("out")]


def sync_deliver(inputs: dict[str, Any], tracer: Any) -> str:
    """The same from a sync entry point, through ``fs_sync``."""
    local = Path(inputs["local"])
    return tracer.fs_sync().upload(local, f"out/{local.name}")


def test_a_pool_run_delivers_into_its_out_folder(pool: ServicePool, runtime: Runtime) -> None:
    run = ended(runtime, launch(pool, f"{__name__}:deliver", {"n": 21}))
    assert run.status == RunStatus.SUCCEEDED and run.result == ["out/answer.txt"]
    assert (runtime.runs_dir / run.id / "out" / "answer.txt").read_text() == "answer: 42"
    outputs = [e.body for e in runtime.store.events(run.id) if e.type == "output"]
    assert outputs == ["refused: '..' leads out of the run's folder"]


def test_a_remote_worker_uploads_its_deliverables_to_the_server(
    hoist_home: Path, tmp_path: Path
) -> None:
    """A worker without the database (a server URL and a worker token) has a folder the
    server does not share: its ``out/`` uploads are sent to the server, which lists them
    beside the run's other files and serves them."""
    from tests.server.conftest import serve, server_settings

    local = tmp_path / "report.csv"
    local.write_text("x,y\n1,2\n")
    with serve(server_settings(hoist_home)) as live:
        token = live.token("operator", worker=True)
        driver = Runtime(Settings(home=tmp_path / "worker", server_url=live.url), token=token)
        server_side = Runtime(Settings(home=hoist_home))
        pool = ServicePool(runtime=driver)
        try:
            run_id = launch(pool, f"{__name__}:sync_deliver", {"local": str(local)})
            run = ended(server_side, run_id)
        finally:
            pool.close()
            driver.close()
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.result == "out/report.csv"
        http = live.http(live.token("viewer"))
        listed = http.get(f"/api/v1/runs/{run_id}/artifacts").json()
        assert {"path": "out/report.csv", "size": 8} in listed
        got = http.get(f"/api/v1/runs/{run_id}/artifacts/out/report.csv")
        assert got.status_code == 200 and got.content == b"x,y\n1,2\n"
        # Both folders: the worker's own copy, and the server's.
        assert (tmp_path / "worker/runs" / run_id / "out/report.csv").is_file()
        assert (hoist_home / "runs" / run_id / "out/report.csv").is_file()
        server_side.close()
