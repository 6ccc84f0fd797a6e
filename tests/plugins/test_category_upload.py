"""``BaseUploadAction``: files to a folder (or ``file://`` URL) with per-file progress,
skipping what is already there by checksum and resuming an interrupted upload (S3 and
SFTP on the real servers: ``test_upload_storage.py``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Any

import pytest

from hoist.errors import ActionFailedError, ParamsValidationError
from hoist.executors.local import LocalExecutor
from hoist.plugins.actions import BaseUploadAction, UploadParams, UploadResult
from hoist.plugins.actions.upload import part_path
from hoist.runs.models import ProgressEvent
from hoist.runs.sinks.memory import MemorySink


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


def run(action: Any, **params: Any) -> tuple[UploadResult, list[Any]]:
    sink = MemorySink()
    result = LocalExecutor(sink=sink, progress_interval=0).execute(action, params)
    (run_id,) = list(sink.runs)
    return result, sink.events(run_id)


def test_uploads_skip_same_checksum_and_replace_changed(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    first, events = run(Upload, source=str(source), destination=str(dest), pattern="**/*")
    assert (first.uploaded, first.skipped, first.resumed) == (3, 0, 0)
    assert first.bytes == 6 + 5 + 5120
    assert (dest / "sub" / "b.txt").read_text() == "beta\n"
    bars = [(e.current, e.total) for e in events
            if isinstance(e, ProgressEvent) and e.category == "upload"]  # fmt: skip
    assert bars == [(1, 3), (2, 3), (3, 3)]
    for outcome in first.files:
        assert hashlib.sha256((dest / outcome.name).read_bytes()).hexdigest() == outcome.sha256

    (source / "a.txt").write_text("changed\n")
    again, _ = run(Upload, source=str(source), destination=f"file://{dest}", pattern="**/*")
    assert {o.name: o.status for o in again.files} == {
        "a.txt": "uploaded", "big.bin": "skipped", "sub/b.txt": "skipped",
    }  # fmt: skip
    assert again.bytes == len("changed\n") and (dest / "a.txt").read_text() == "changed\n"


def test_an_interrupted_upload_resumes_from_its_part_file(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(ActionFailedError, match="connection lost"):
        run(Flaky, source=str(source), destination=str(dest))
    part = part_path(dest / "big.bin")
    assert part.stat().st_size == 1000 and not (dest / "big.bin").exists()
    assert (dest / "a.txt").is_file()  # finished before the failure

    result, _ = run(Upload, source=str(source), destination=str(dest))
    status = {o.name: (o.status, o.transferred) for o in result.files}
    assert status == {"a.txt": ("skipped", 0), "big.bin": ("resumed", 4120)}
    assert (dest / "big.bin").read_bytes() == (source / "big.bin").read_bytes()
    assert not part.exists()


def test_a_part_file_that_does_not_match_is_rewritten(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    part_path(dest / "big.bin").write_bytes(b"garbage")
    result, _ = run(Upload, source=str(source / "big.bin"), destination=str(dest))
    assert result.files[0].status == "uploaded" and result.files[0].transferred == 5120
    assert (dest / "big.bin").read_bytes() == (source / "big.bin").read_bytes()


def test_the_default_destination_is_the_runs_artifacts(source: Path) -> None:
    result, _ = run(Upload, source=str(source))
    assert Path(result.destination).parts[-2:] == ("artifacts", "uploaded")
    assert result.uploaded == 2  # pattern "*": top-level files only


def test_bad_input(source: Path, tmp_path: Path) -> None:
    with pytest.raises(ActionFailedError, match="no storage provider for 'ftp://'"):
        run(Upload, source=str(source), destination="ftp://host/x")
    with pytest.raises(ActionFailedError, match="does not exist"):
        run(Upload, source=str(tmp_path / "missing"))
    with pytest.raises(ActionFailedError, match="source: give a file or folder"):
        run(Upload)
    with pytest.raises(ParamsValidationError, match="pattern"):
        run(Upload, source=str(source), pattern=3)
