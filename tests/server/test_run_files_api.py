"""A running run's files through the API, as a worker recording through the server
sends them: ``PUT`` streamed from a file (``RunClient.upload_file``; no body is an
empty file), and ``DELETE /api/v1/runs/{id}/artifacts/{path}`` (what ``RunFiles.remove``
sends): operators and the run's own worker token may store and delete, viewers and
other workers may not (403), a path leaving the run's folder is refused, a missing file
is 404, an ended run keeps its files (409)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from hoist.client import ConflictError, PermissionDeniedError
from hoist.client.run_client import UPLOAD_CHUNK, RunClient
from hoist.errors import NotFoundError
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from tests.server.conftest import LiveServer, serve, server_settings

API = "/api/v1"
BODY_LIMIT = 8 * 1024 * 1024


@pytest.fixture
def live(hoist_home: Path) -> Iterator[LiveServer]:
    with serve(server_settings(hoist_home, max_body_bytes=BODY_LIMIT)) as server:
        yield server


def posted_run(live: LiveServer, token: str, status: RunStatus = RunStatus.RUNNING) -> str:
    """A run ``token`` (a worker token) posted through ``/ingest``; returns its id."""
    now = time.time()
    run = Run(
        id=new_run_id(), kind=RunKind.SERVICE, plugin="svc", action="go", status=status,
        created_at=now, started_at=now, heartbeat_at=now,
        finished_at=now if status.is_terminal else None,
    )  # fmt: skip
    answer = live.http(token).post(f"{API}/ingest", json={"runs": [run.to_dict()], "events": []})
    assert answer.status_code == 200, answer.text
    return run.id


def listed(live: LiveServer, run_id: str) -> list[str]:
    answer = live.http(live.token("viewer")).get(f"{API}/runs/{run_id}/artifacts")
    assert answer.status_code == 200, answer.text
    return [entry["path"] for entry in answer.json()]


def test_upload_file_streams_a_file_larger_than_a_chunk(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = live.token("operator", "streamer", worker=True)
    run_id = posted_run(live, token)
    data = os.urandom(3 * UPLOAD_CHUNK + 12_345)  # three full chunks and a part
    source = tmp_path / "big.bin"
    source.write_bytes(data)

    read_bytes = Path.read_bytes

    def whole(self: Path) -> bytes:
        assert self != source, "the upload read the file into memory whole"
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", whole)
    with closing(RunClient(live.url, token, run_id)) as client:
        stored = client.upload_file(source, "out/big.bin")
    monkeypatch.undo()
    assert stored == {"path": "out/big.bin", "size": len(data)}
    on_disk = live.state.runtime.runs_dir / run_id / "out/big.bin"
    assert on_disk.read_bytes() == data
    got = live.http(live.token("viewer")).get(f"{API}/runs/{run_id}/artifacts/out/big.bin")
    assert got.status_code == 200 and got.content == data


def test_only_operators_and_the_runs_worker_delete_its_files(
    live: LiveServer, tmp_path: Path
) -> None:
    token = live.token("operator", "owner", worker=True)
    run_id = posted_run(live, token)
    note = tmp_path / "note.txt"
    note.write_bytes(b"note")
    with closing(RunClient(live.url, token, run_id)) as owner:
        for name in ("out/a.txt", "out/b.txt", "in/c.txt", "top.txt"):
            owner.upload_file(note, name)
        assert listed(live, run_id) == ["artifacts/top.txt", "in/c.txt", "out/a.txt", "out/b.txt"]

        # Viewers never; another worker (of an operator, even an admin) not in this run.
        outsiders = {
            "viewer": live.token("viewer"),
            "viewer's worker": live.token("viewer", "viewer-w", worker=True),
            "other worker": live.token("operator", "other", worker=True),
            "admin's worker": live.token("admin", "admin-w", worker=True),
        }
        for who, other in outsiders.items():
            answer = live.http(other).delete(f"{API}/runs/{run_id}/artifacts/out/a.txt")
            assert answer.status_code == 403, (who, answer.text)
            assert answer.json()["detail"], who
        intruder = closing(RunClient(live.url, outsiders["other worker"], run_id))
        with intruder as client, pytest.raises(PermissionDeniedError, match="not posted by"):
            client.delete_file("out/a.txt")
        assert "out/a.txt" in listed(live, run_id)

        # The run's worker deletes a file: gone from the list, the folder and the API.
        owner.delete_file("out/a.txt")
        assert listed(live, run_id) == ["artifacts/top.txt", "in/c.txt", "out/b.txt"]
        assert not (live.state.runtime.runs_dir / run_id / "out/a.txt").exists()
        with pytest.raises(NotFoundError, match="no such file"):
            owner.delete_file("out/a.txt")
        owner.delete_file("artifacts/top.txt")

    # An operator (not a worker) may, as it may store them.
    operator = live.http(live.token("operator"))
    assert operator.delete(f"{API}/runs/{run_id}/artifacts/in/c.txt").status_code == 204
    assert listed(live, run_id) == ["out/b.txt"]

    # A worker token may not delete in a run the server launched (no worker posted it).
    admin = live.client()
    launched = admin.launch("sim_train", "train", params={"epochs": 60, "sleep_per_epoch": 1})
    try:
        there = live.state.runtime.runs_dir / launched / "out/b.txt"
        there.parent.mkdir(parents=True, exist_ok=True)
        there.write_bytes(b"the server's")
        url = f"{API}/runs/{launched}/artifacts/out/b.txt"
        answer = live.http(token).delete(url)
        assert answer.status_code == 403, answer.text
        assert there.read_bytes() == b"the server's"
        # Once it is gone (a service sharing the server's folder removed it), a 404,
        # which RunFiles.remove takes as done.
        there.unlink()
        assert live.http(token).delete(url).status_code == 404
    finally:
        admin.cancel(launched)


def test_only_operators_and_the_runs_worker_store_its_files(
    live: LiveServer, tmp_path: Path
) -> None:
    """PUT follows DELETE's rule: another worker's token may not write into a run it did
    not post (it could otherwise plant files in any running run)."""
    token = live.token("operator", "owner", worker=True)
    run_id = posted_run(live, token)
    url = f"{API}/runs/{run_id}/artifacts/out/a.txt"
    outsiders = {
        "viewer": live.token("viewer"),
        "other worker": live.token("operator", "other", worker=True),
        "admin's worker": live.token("admin", "admin-w", worker=True),
    }
    for who, other in outsiders.items():
        answer = live.http(other).put(url, content=b"planted")
        assert answer.status_code == 403, (who, answer.text)
    assert not (live.state.runtime.runs_dir / run_id / "out/a.txt").exists()
    intruder = closing(RunClient(live.url, outsiders["other worker"], run_id))
    planted = tmp_path / "a.txt"
    planted.write_bytes(b"planted")
    with intruder as client, pytest.raises(PermissionDeniedError, match="not posted by"):
        client.upload_file(planted, "out/a.txt")
    owner = live.http(token).put(url, content=b"owner's")
    assert owner.status_code == 201, owner.text
    assert owner.json() == {"path": "out/a.txt", "size": 7}
    operator = live.http(live.token("operator")).put(f"{API}/runs/{run_id}/artifacts/b.txt",
                                                     content=b"operator's")  # fmt: skip
    assert operator.status_code == 201, operator.text
    assert listed(live, run_id) == ["artifacts/b.txt", "out/a.txt"]
    assert (live.state.runtime.runs_dir / run_id / "out/a.txt").read_bytes() == b"owner's"

    # Nor into a run the server launched (no worker posted it).
    admin = live.client()
    launched = admin.launch("sim_train", "train", params={"epochs": 60, "sleep_per_epoch": 1})
    try:
        answer = live.http(token).put(f"{API}/runs/{launched}/artifacts/x.txt", content=b"x")
        assert answer.status_code == 403, answer.text
        assert not (live.state.runtime.runs_dir / launched / "artifacts/x.txt").exists()
    finally:
        admin.cancel(launched)


def test_an_empty_body_stores_an_empty_file_as_documented(live: LiveServer) -> None:
    token = live.token("operator", "owner", worker=True)
    run_id = posted_run(live, token)
    answer = live.http(token).put(f"{API}/runs/{run_id}/artifacts/out/empty.txt")
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"path": "out/empty.txt", "size": 0}
    assert (live.state.runtime.runs_dir / run_id / "out/empty.txt").read_bytes() == b""
    spec = live.http(token).get(f"{API}/openapi.json").json()
    body = spec["paths"][f"{API}/runs/{{run_id}}/artifacts/{{path}}"]["put"]["requestBody"]
    assert body["required"] is False
    assert list(body["content"]) == ["application/octet-stream"]


def test_deleting_refuses_paths_out_of_the_run_folder(live: LiveServer, tmp_path: Path) -> None:
    token = live.token("operator", "owner", worker=True)
    run_id = posted_run(live, token)
    runs_dir = live.state.runtime.runs_dir
    runs_dir.mkdir(parents=True, exist_ok=True)
    victim = runs_dir / "victim.txt"  # next to the run's folder
    victim.write_bytes(b"keep")
    other_run = posted_run(live, token)
    (runs_dir / other_run / "out").mkdir(parents=True)
    (runs_dir / other_run / "out/x.txt").write_bytes(b"keep")
    folder = runs_dir / run_id
    (folder / "out/sub").mkdir(parents=True)
    (folder / "out/sub/kept.txt").write_bytes(b"keep")
    (folder / "out/escape").symlink_to(runs_dir / other_run / "out")
    (folder / "out/link.txt").symlink_to(victim)
    (folder / "out/inner.txt").symlink_to(folder / "out/sub/kept.txt")
    http = live.http(token)
    base = f"{API}/runs/{run_id}/artifacts/"
    for attack in (
        "..%2Fvictim.txt",
        f"..%2F{other_run}%2Fout%2Fx.txt",
        "out%2F..%2F..%2Fvictim.txt",
        "%2E%2E/victim.txt",
        "..%5Cvictim.txt",
        "%2Fetc%2Fpasswd",
        "out/%00",
        "out/escape/x.txt",  # through a symlink that leads out
        "out/link.txt",  # a symlink that leads out
        "a" * 5000,
    ):
        answer = http.delete(base + attack)
        assert answer.status_code in (400, 404), (attack, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/json"), attack
        assert answer.json()["detail"], attack
    assert victim.read_bytes() == b"keep"
    assert (runs_dir / other_run / "out/x.txt").read_bytes() == b"keep"
    # A folder is not deleted whole; a symlink goes alone, never what it points at.
    folder_answer = http.delete(base + "out/sub")
    assert folder_answer.status_code == 400 and "folder" in folder_answer.json()["detail"]
    assert (folder / "out/sub/kept.txt").is_file()
    assert http.delete(base + "out/inner.txt").status_code == 204
    assert not (folder / "out/inner.txt").is_symlink()
    assert (folder / "out/sub/kept.txt").read_bytes() == b"keep"
    assert http.delete(base + "out/missing.txt").status_code == 404


def test_an_ended_run_keeps_its_files(live: LiveServer) -> None:
    token = live.token("operator", "owner", worker=True)
    run_id = posted_run(live, token, RunStatus.SUCCEEDED)
    folder = live.state.runtime.runs_dir / run_id / "out"
    folder.mkdir(parents=True)
    (folder / "done.txt").write_bytes(b"done")
    with closing(RunClient(live.url, token, run_id)) as owner, pytest.raises(ConflictError):
        owner.delete_file("out/done.txt")
    assert (folder / "done.txt").read_bytes() == b"done"


def test_the_delete_is_documented(live: LiveServer) -> None:
    spec = live.http(live.token()).get(f"{API}/openapi.json").json()
    operation = spec["paths"][f"{API}/runs/{{run_id}}/artifacts/{{path}}"]["delete"]
    assert "204" in operation["responses"]
    for code in ("400", "401", "403", "404", "409", "422"):
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, code
