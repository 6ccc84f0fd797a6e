"""`hoist.storage.download` against a real HTTP server (in a thread) that honours Range and
can cut a transfer off half-way."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hoist.errors import StorageNotFoundError, StorageUnreachableError
from hoist.storage.download import ChecksumMismatchError, DownloadError, download

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@dataclass
class FileServer:
    """What the server holds and what it saw."""

    files: dict[str, bytes]
    url: str = ""
    cut_first: int = 0
    """How many of the next requests send half their body, then close."""
    ranges: list[str | None] = field(default_factory=list)
    honour_range: bool = True


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data = state.files.get(self.path)
            asked = self.headers.get("Range")
            state.ranges.append(asked)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, status = 0, 200
            found = re.fullmatch(r"bytes=(\d+)-", asked or "")
            if found and state.honour_range:
                start, status = int(found.group(1)), 206
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            body = data[start:]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Connection", "close")
            self.end_headers()
            if state.cut_first > 0:
                state.cut_first -= 1
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[FileServer]:
    state = FileServer(files={"/weights.bin": PAYLOAD})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_verifies_and_reports_progress(server: FileServer, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    out = download(
        f"{server.url}/weights.bin",
        tmp_path / "w" / "weights.bin",
        sha256=SHA,
        progress=lambda done, total: seen.append((done, total)),
        chunk_size=64 * 1024,
    )
    assert out.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert not (tmp_path / "w" / "weights.bin.part").exists()


def test_cut_off_transfer_resumes_with_range_in_the_same_call(
    server: FileServer, tmp_path: Path
) -> None:
    server.cut_first = 1
    out = download(f"{server.url}/weights.bin", tmp_path / "weights.bin", sha256=SHA)
    assert out.read_bytes() == PAYLOAD
    assert server.ranges == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_interrupted_download_keeps_its_part_and_a_later_call_resumes(
    server: FileServer, tmp_path: Path
) -> None:
    server.cut_first = 1
    dest = tmp_path / "weights.bin"
    with pytest.raises(DownloadError, match="partial file kept"):
        download(f"{server.url}/weights.bin", dest, sha256=SHA, retries=0)
    part = tmp_path / "weights.bin.part"
    assert part.stat().st_size == len(PAYLOAD) // 2
    assert not dest.exists()

    done: list[int] = []
    download(f"{server.url}/weights.bin", dest, sha256=SHA, progress=lambda d, t: done.append(d))
    assert dest.read_bytes() == PAYLOAD
    assert server.ranges[-1] == f"bytes={len(PAYLOAD) // 2}-"
    assert done[0] > len(PAYLOAD) // 2  # progress counts the bytes kept from before
    assert not part.exists()


def test_server_without_range_support_starts_again(server: FileServer, tmp_path: Path) -> None:
    server.honour_range = False
    (tmp_path / "weights.bin.part").write_bytes(b"stale bytes of another attempt")
    out = download(f"{server.url}/weights.bin", tmp_path / "weights.bin", sha256=SHA)
    assert out.read_bytes() == PAYLOAD


def test_a_complete_part_is_finished_without_fetching_again(
    server: FileServer, tmp_path: Path
) -> None:
    (tmp_path / "weights.bin.part").write_bytes(PAYLOAD)
    download(f"{server.url}/weights.bin", tmp_path / "weights.bin", sha256=SHA)
    assert (tmp_path / "weights.bin").read_bytes() == PAYLOAD
    assert server.ranges == [f"bytes={len(PAYLOAD)}-"]


def test_checksum_mismatch_is_refused_and_nothing_is_kept(
    server: FileServer, tmp_path: Path
) -> None:
    dest = tmp_path / "weights.bin"
    with pytest.raises(ChecksumMismatchError, match="sha256 mismatch") as caught:
        download(f"{server.url}/weights.bin", dest, sha256="0" * 64)
    assert caught.value.actual == SHA
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_that_matches_is_not_fetched(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "weights.bin"
    dest.write_bytes(PAYLOAD)
    download(f"{server.url}/weights.bin", dest, sha256=SHA)
    assert server.ranges == []


def test_missing_file_and_unreachable_server_are_clear_errors(
    server: FileServer, tmp_path: Path
) -> None:
    with pytest.raises(StorageNotFoundError, match="HTTP 404"):
        download(f"{server.url}/nothing.bin", tmp_path / "x")
    with pytest.raises(StorageUnreachableError, match="unreachable") as caught:
        download("http://user:secret@127.0.0.1:1/x.bin?token=abc", tmp_path / "y", retries=0)
    assert "secret" not in str(caught.value) and "abc" not in str(caught.value)
