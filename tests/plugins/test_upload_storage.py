"""``BaseUploadAction`` to S3 and SFTP on the real servers: files land whole under their
final names, unchanged ones are skipped by sha256, an interrupted upload continues (SFTP:
from its part file; S3: the file again) and never shows half a file."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import IO, Any

import pytest
from tests.storage.conftest import BUCKET, KEY_VAR, SECRET_VAR, s3_server, sshd_server
from tests.storage.servers import S3Server, SSHServer

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.actions import BaseUploadAction, UploadParams, UploadResult
from hoist.plugins.actions.upload import part_name
from hoist.runs.models import ProgressEvent
from hoist.runs.sinks.memory import MemorySink
from hoist.storage import StorageLocation, load_storage_config, open_location

__all__ = ["s3_server", "sshd_server"]


class Upload(BaseUploadAction[UploadParams]):
    """The base as it is."""


class Flaky(BaseUploadAction[UploadParams]):
    """Dies after writing the first chunk of ``big.bin``: an interrupted upload."""

    chunk_size = 1000

    def transfer(self, source: Path, sink: IO[bytes], offset: int) -> int:
        if source.name == "big.bin":
            with source.open("rb") as src:
                sink.write(src.read(self.chunk_size))
            raise ConnectionError("connection lost")
        return super().transfer(source, sink, offset)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha\n")
    (folder / "sub" / "b.txt").write_text("beta\n")
    (folder / "big.bin").write_bytes(bytes(range(256)) * 20)  # 5120 bytes
    return folder


@pytest.fixture(params=["s3", "sftp"])
def remote(
    request: pytest.FixtureRequest,
    hoist_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> StorageLocation:
    """``remote`` in ``<home>/storage.yaml``: a fresh S3 prefix (keys in the
    environment) or a fresh folder on the SSH server (a key file)."""
    if request.param == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        monkeypatch.setenv(KEY_VAR, s3.key)
        monkeypatch.setenv(SECRET_VAR, s3.secret)
        entry = (
            f"    url: s3://{BUCKET}/{uuid.uuid4().hex}\n"
            f"    options: {{endpoint_url: '{s3.endpoint}'}}\n"
            f"    credentials: {{env: {{key: {KEY_VAR}, secret: {SECRET_VAR}}}}}\n"
        )
    else:
        sshd: SSHServer = request.getfixturevalue("sshd_server")
        root = tmp_path / "sftp-root"
        root.mkdir()
        entry = (
            f"    url: {sshd.url(root)}\n"
            f"    options: {{key_filename: '{sshd.key_file}', look_for_keys: false, "
            "allow_agent: false}\n"
        )
    hoist_home.mkdir(parents=True, exist_ok=True)
    (hoist_home / "storage.yaml").write_text(f"storage:\n  remote:\n{entry}")
    return open_location("remote", config=load_storage_config())


def run(action: Any, **params: Any) -> tuple[UploadResult, list[Any]]:
    sink = MemorySink()
    result = LocalExecutor(sink=sink, progress_interval=0).execute(action, params)
    (run_id,) = list(sink.runs)
    return result, sink.events(run_id)


def stored(location: StorageLocation) -> dict[str, str]:
    """Every file at ``location``: path -> sha256."""
    return {
        e.path: hashlib.sha256(location.read_bytes(e.path)).hexdigest()
        for e in location.list("", recursive=True)
    }


def local(source: Path) -> dict[str, str]:
    return {
        p.relative_to(source).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in source.rglob("*")
        if p.is_file()
    }


def test_upload_skips_same_checksum_and_replaces_changed(
    remote: StorageLocation, source: Path
) -> None:
    first, events = run(Upload, source=str(source), destination="remote", pattern="**/*")
    assert (first.uploaded, first.skipped, first.resumed) == (3, 0, 0)
    assert first.destination == remote.url
    assert stored(remote) == local(source)  # no part file left either
    bars = [(e.current, e.total) for e in events
            if isinstance(e, ProgressEvent) and e.category == "upload"]  # fmt: skip
    assert bars == [(1, 3), (2, 3), (3, 3)]

    (source / "a.txt").write_text("changed\n")
    again, _ = run(Upload, source=str(source), destination=remote.url, pattern="**/*")
    assert {o.name: o.status for o in again.files} == {
        "a.txt": "uploaded", "big.bin": "skipped", "sub/b.txt": "skipped",
    }  # fmt: skip
    assert again.bytes == len("changed\n")
    assert stored(remote) == local(source)


def test_an_interrupted_upload_never_shows_half_a_file(
    remote: StorageLocation, source: Path
) -> None:
    with pytest.raises(ActionFailedError, match="connection lost"):
        run(Flaky, source=str(source), destination="remote")
    assert remote.exists("a.txt") and not remote.exists("big.bin")

    result, _ = run(Upload, source=str(source), destination="remote")
    status = {o.name: (o.status, o.transferred) for o in result.files}
    if remote.url.startswith("sftp://"):  # the part file is appended to
        assert status == {"a.txt": ("skipped", 0), "big.bin": ("resumed", 4120)}
    else:  # S3 cannot append: the file goes up again
        assert status == {"a.txt": ("skipped", 0), "big.bin": ("uploaded", 5120)}
    assert remote.read_bytes("big.bin") == (source / "big.bin").read_bytes()
    assert not remote.exists(part_name("big.bin"))


def test_a_part_that_does_not_match_is_rewritten(remote: StorageLocation, source: Path) -> None:
    remote.write_bytes(part_name("big.bin"), b"garbage")
    result, _ = run(Upload, source=str(source / "big.bin"), destination="remote")
    assert (result.files[0].status, result.files[0].transferred) == ("uploaded", 5120)
    assert remote.read_bytes("big.bin") == (source / "big.bin").read_bytes()
    assert stored(remote) == {"big.bin": local(source)["big.bin"]}
