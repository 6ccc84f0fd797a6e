"""``http(s)://`` on a real HTTP server: everything that reads works as on the other
providers; everything that writes is refused with StorageReadOnlyError, touching nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hoist.errors import StorageNotFoundError, StorageReadOnlyError
from hoist.storage import StorageConfig, StorageLocation, open_location
from tests.storage.servers import HTTPServerHandle

DATA = bytes(range(256)) * 5000


@pytest.fixture
def served(http_location: StorageLocation, http_server: HTTPServerHandle) -> StorageLocation:
    folder = http_server.root / http_location.url.rsplit("/", 1)[1]
    (folder / "sub").mkdir()
    (folder / "a.txt").write_bytes(b"alpha")
    (folder / "sub" / "b.bin").write_bytes(DATA)
    return http_location


def test_reads(served: StorageLocation, tmp_path: Path) -> None:
    assert served.read_bytes("a.txt") == b"alpha"
    with served.open("sub/b.bin") as source:
        assert source.read() == DATA
    assert served.checksum("sub/b.bin") == hashlib.sha256(DATA).hexdigest()
    info = served.info("sub/b.bin")
    assert (info.path, info.size, info.is_dir) == ("sub/b.bin", len(DATA), False)
    assert served.exists("a.txt") and not served.exists("missing.txt")
    calls: list[tuple[int, int | None]] = []
    out = served.download(
        "sub/b.bin", tmp_path / "b.bin", progress=lambda d, t: calls.append((d, t))
    )
    assert out.read_bytes() == DATA and calls[-1] == (len(DATA), len(DATA))
    assert served.url_of("sub/b.bin") == f"{served.url}/sub/b.bin"


def test_lists_the_index_pages(served: StorageLocation, tmp_path: Path) -> None:
    assert [(e.path, e.is_dir) for e in served.list()] == [("a.txt", False), ("sub", True)]
    assert [e.path for e in served.list(recursive=True)] == ["a.txt", "sub/b.bin"]
    assert served.info("sub").is_dir and served.info("").is_dir
    served.download("", tmp_path / "all")
    assert (tmp_path / "all" / "sub" / "b.bin").read_bytes() == DATA
    assert (tmp_path / "all" / "a.txt").read_bytes() == b"alpha"


def test_copies_out_to_a_writable_location(served: StorageLocation, tmp_path: Path) -> None:
    local = open_location(tmp_path / "copy", config=StorageConfig())
    served.copy_to("sub/b.bin", local, "b.bin")
    assert local.read_bytes("b.bin") == DATA


def test_missing_is_not_found(served: StorageLocation) -> None:
    with pytest.raises(StorageNotFoundError, match=r"nope\.txt: not found"):
        served.read_bytes("nope.txt")


def test_writes_are_refused(served: StorageLocation, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    local = open_location(tmp_path / "src", config=StorageConfig())
    local.write_bytes("f.txt", b"x")
    for write in (
        lambda: served.write_bytes("new.txt", b"x"),
        lambda: served.open("new.txt", "wb"),
        lambda: served.upload(tmp_path / "f.txt", "new.txt"),
        lambda: served.remove("a.txt"),
        lambda: local.copy_to("f.txt", served, "new.txt"),
    ):
        with pytest.raises(StorageReadOnlyError) as refused:
            write()
        assert refused.value.location == served.name
        assert "read-only" in str(refused.value)
    assert served.read_bytes("a.txt") == b"alpha"
    assert not served.exists("new.txt")
