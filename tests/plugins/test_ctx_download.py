"""``ctx.download``: an action fetches a URL into its run's cache, checked and with progress
events, from a real HTTP server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from tests.storage.servers import HTTPServerHandle, start_http

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.runs.events import ProgressEvent
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.memory import MemorySink


class FetchParams(BaseModel):
    url: str
    sha256: str | None = None


class Fetch(BaseAction[FetchParams]):
    def execute(self) -> dict[str, object]:
        path = self.ctx.download(self.params.url, sha256=self.params.sha256)
        return {"path": str(path), "size": path.stat().st_size}


@pytest.fixture
def http(tmp_path: Path) -> Iterator[HTTPServerHandle]:
    server = start_http(tmp_path / "www")
    yield server
    server.stop()


def test_an_action_downloads_into_its_run_cache(http: HTTPServerHandle, runtime: Runtime) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    (http.root / "weights.bin").write_bytes(data)
    sink = MemorySink()
    executor = LocalExecutor(sink=sink, runtime=runtime, progress_interval=0)
    digest = hashlib.sha256(data).hexdigest()
    result = executor.execute(Fetch, {"url": f"{http.url}/weights.bin", "sha256": digest})
    (run,) = sink.runs.values()
    assert result["path"] == str(runtime.runs_dir / run.id / "cache" / "weights.bin")
    assert Path(result["path"]).read_bytes() == data
    bars = [e for e in sink.events(run.id) if isinstance(e, ProgressEvent)]
    assert bars and {e.category for e in bars} == {"download"}
    assert bars[-1].current == bars[-1].total == len(data)


def test_a_wrong_checksum_fails_the_run_and_keeps_nothing(
    http: HTTPServerHandle, runtime: Runtime
) -> None:
    (http.root / "weights.bin").write_bytes(b"not what was published")
    sink = MemorySink()
    executor = LocalExecutor(sink=sink, runtime=runtime, progress_interval=0)
    with pytest.raises(ActionFailedError) as info:
        executor.execute(Fetch, {"url": f"{http.url}/weights.bin", "sha256": "0" * 64})
    assert info.value.error_type == "hoist.errors.ChecksumMismatchError"
    (run,) = sink.runs.values()
    assert not [p for p in (runtime.runs_dir / run.id).rglob("*") if p.is_file()]
