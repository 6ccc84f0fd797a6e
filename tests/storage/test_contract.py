"""One suite, every writable provider on its real server (a local folder, moto's S3, an
OpenSSH sftp server): the same operations give the same answers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from hoist.errors import StorageError, StorageNotFoundError
from hoist.storage import Entry, StorageConfig, StorageLocation, open_location

BLOB = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk of a streamed copy


def fill(root: Path) -> dict[str, bytes]:
    """A small tree of files under ``root``; ``{relative path: bytes}``."""
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(70_000), "sub/deep/c.txt": b"", "big": BLOB}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def recorder() -> tuple[list[tuple[int, int | None]], object]:
    calls: list[tuple[int, int | None]] = []
    return calls, lambda done, total: calls.append((done, total))


def test_write_then_read_back(location: StorageLocation) -> None:
    location.write_bytes("one/two/file.bin", b"payload")
    assert location.read_bytes("one/two/file.bin") == b"payload"
    location.write_bytes("one/two/file.bin", b"replaced")
    assert location.read_bytes("/one//two/./file.bin") == b"replaced"


def test_open_streams_both_ways(location: StorageLocation) -> None:
    with location.open("stream.bin", "wb") as sink:
        for start in range(0, len(BLOB), 1_000_000):
            sink.write(BLOB[start : start + 1_000_000])
    with location.open("stream.bin") as source:
        assert source.read(10) == BLOB[:10]
        assert source.read() == BLOB[10:]
    assert location.checksum("stream.bin") == hashlib.sha256(BLOB).hexdigest()


def test_list_exists_and_info(location: StorageLocation) -> None:
    assert location.list() == []
    location.write_bytes("top.txt", b"12345")
    location.write_bytes("dir/inner.txt", b"x")
    location.write_bytes("dir/sub/leaf.txt", b"yy")
    listed = location.list()
    assert [(e.path, e.is_dir) for e in listed] == [("dir", True), ("top.txt", False)]
    assert listed[1].size == 5
    assert [e.path for e in location.list("dir")] == ["dir/inner.txt", "dir/sub"]
    assert [e.path for e in location.list(recursive=True)] == [
        "dir/inner.txt",
        "dir/sub/leaf.txt",
        "top.txt",
    ]
    assert [e.path for e in location.list("top.txt")] == ["top.txt"]
    assert location.exists("dir") and location.exists("dir/sub/leaf.txt")
    assert not location.exists("dir/missing.txt")
    info = location.info("top.txt")
    assert (info.path, info.size, info.is_dir) == ("top.txt", 5, False)
    assert info.modified is not None and info.modified.tzinfo is not None
    assert location.info("dir").is_dir


def test_remove_file_and_folder(location: StorageLocation) -> None:
    location.write_bytes("f.txt", b"1")
    location.write_bytes("d/x.txt", b"2")
    location.write_bytes("d/e/y.txt", b"3")
    location.remove("f.txt")
    assert not location.exists("f.txt")
    with pytest.raises(StorageError, match="recursive=True") as refused:
        location.remove("d")
    assert refused.value.path == "d"
    assert location.exists("d/e/y.txt")
    location.remove("d", recursive=True)
    assert location.list() == []


def test_missing_paths_are_not_found(location: StorageLocation) -> None:
    for call in (
        lambda: location.read_bytes("nope.txt"),
        lambda: location.info("nope/deeper.txt"),
        lambda: location.remove("nope.txt"),
        lambda: location.list("nope"),
        lambda: location.checksum("nope.txt"),
        lambda: location.download("nope.txt", Path("/nonexistent-target")),
    ):
        with pytest.raises(StorageNotFoundError) as caught:
            call()
        assert caught.value.location == location.name
        assert caught.value.path.startswith("nope")
        assert "not found" in str(caught.value)


def test_upload_and_download_a_folder_with_progress(
    location: StorageLocation, tmp_path: Path
) -> None:
    files = fill(tmp_path / "src")
    total = sum(len(d) for d in files.values())
    calls, progress = recorder()
    entry = location.upload(tmp_path / "src", "tree", progress=progress)  # type: ignore[arg-type]
    assert entry.is_dir
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls) and [d for d, _ in calls] == sorted(
        d for d, _ in calls
    )
    assert {e.path: e.size for e in location.list("tree", recursive=True)} == {
        f"tree/{rel}": len(data) for rel, data in files.items()
    }
    calls, progress = recorder()
    location.download("tree", tmp_path / "back", progress=progress)  # type: ignore[arg-type]
    assert calls[-1] == (total, total)
    for rel, data in files.items():
        assert (tmp_path / "back" / rel).read_bytes() == data


def test_upload_and_download_one_file(location: StorageLocation, tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(BLOB)
    calls, progress = recorder()
    entry = location.upload(tmp_path / "w.bin", "weights/w.bin", progress=progress)  # type: ignore[arg-type]
    assert entry == Entry("weights/w.bin", len(BLOB), False, entry.modified)
    assert calls[-1] == (len(BLOB), len(BLOB))
    out = location.download("weights/w.bin", tmp_path / "copy" / "w.bin")
    assert out.read_bytes() == BLOB
    assert location.checksum("weights/w.bin") == hashlib.sha256(BLOB).hexdigest()


def test_copy_within_and_across_storages(location: StorageLocation, tmp_path: Path) -> None:
    files = fill(tmp_path / "src")
    location.upload(tmp_path / "src", "orig")
    total = sum(len(d) for d in files.values())
    calls, progress = recorder()
    location.copy_to("orig", location, "dup", progress=progress)  # type: ignore[arg-type]
    assert calls[-1] == (total, total)
    other = open_location(tmp_path / "elsewhere", config=StorageConfig())
    location.copy_to("orig", other, "copied")
    other.copy_to("copied/big", location, "back/big.bin")
    for rel, data in files.items():
        assert location.read_bytes(f"dup/{rel}") == data
        assert (tmp_path / "elsewhere" / "copied" / rel).read_bytes() == data
    assert location.read_bytes("back/big.bin") == BLOB


def test_urls_children_and_escapes(location: StorageLocation) -> None:
    url = location.url_of("a/b.txt")
    assert url == f"{location.url}/a/b.txt"
    child = location.child("nested/deeper")
    assert child.url == f"{location.url}/nested/deeper"
    assert child.name == f"{location.name}/nested/deeper"
    child.write_bytes("c.txt", b"via child")
    assert location.read_bytes("nested/deeper/c.txt") == b"via child"
    assert [e.path for e in child.list()] == ["c.txt"]
    with pytest.raises(StorageError, match="leaves the location"):
        child.read_bytes("../../outside.txt")
    assert repr(child) == f"StorageLocation(name={child.name!r}, url={child.url!r})"


def test_append_where_the_storage_can_and_move(location: StorageLocation) -> None:
    location.write_bytes("part/a.bin", b"first ")
    if location.appendable:
        with location.open("part/a.bin", "ab") as out:
            out.write(b"second")
        assert location.read_bytes("part/a.bin") == b"first second"
    else:  # an object store writes objects whole: said, not silently rewritten
        with pytest.raises(StorageError, match="cannot append here"):
            location.open("part/a.bin", "ab")
        assert location.read_bytes("part/a.bin") == b"first "
    assert location.appendable == (location.url.split("://")[0] in ("file", "sftp"))
    location.move("part/a.bin", "done/a.bin")
    assert not location.exists("part/a.bin")
    assert location.read_bytes("done/a.bin").startswith(b"first ")
    with pytest.raises(StorageNotFoundError):
        location.move("part/missing.bin", "done/b.bin")
