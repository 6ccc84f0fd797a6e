"""A run's artifacts published at its end to ``HOIST_ARTIFACTS`` (a location name or a
URL), on moto's real S3 server: the reference in the run's events, the files read back
from there, an unreachable storage that loses nothing, no secret in any event."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.storage.conftest import BUCKET, KEY_VAR, SECRET_VAR, s3_server  # noqa: F401
from tests.storage.servers import S3Server, free_port

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.runs.artifacts import PUBLISHED_EVENT, ArtifactStore, published_store
from hoist.runs.models import CustomEvent, Event, LogEvent, RunStatus
from hoist.runs.runtime import Runtime, get_runtime
from hoist.storage import open_location

WEIGHTS = os.urandom(300_000)


class WriteParams(BaseModel):
    outside: str
    fail: bool = False


class WriteArtifacts(BaseAction[WriteParams]):
    """Writes two artifacts (and a link leading out of the run folder); fails if asked."""

    def execute(self) -> dict[str, Any]:
        folder = self.ctx.artifacts_dir
        (folder / "model.bin").write_bytes(WEIGHTS)
        (folder / "sub").mkdir()
        (folder / "sub" / "metrics.json").write_text('{"loss": 0.1}')
        (folder / "escape.txt").symlink_to(Path(self.params.outside))
        if self.params.fail:
            raise RuntimeError("boom")
        return {"ok": True}


def use_artifacts(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    server: S3Server,
    target: str | None = None,
    endpoint: str | None = None,
) -> str:
    """Configure location ``s3`` (a fresh prefix) and ``HOIST_ARTIFACTS`` (default: the
    name ``s3``); the location's URL."""
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    options = {
        "endpoint_url": endpoint or server.endpoint,
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 5},
    }
    config = tmp_path / "storage.yaml"
    config.write_text(
        json.dumps(
            {
                "storage": {
                    "s3": {
                        "url": url,
                        "options": options,
                        "credentials": {"env": {"key": KEY_VAR, "secret": SECRET_VAR}},
                    }
                }
            }
        )
    )
    monkeypatch.setenv("HOIST_STORAGE_CONFIG", str(config))
    monkeypatch.setenv("HOIST_ARTIFACTS", target or "s3")
    monkeypatch.setenv(KEY_VAR, server.key)
    monkeypatch.setenv(SECRET_VAR, server.secret)
    return url


def run_it(runtime: Runtime, outside: Path, fail: bool = False) -> tuple[str, list[Event]]:
    executor = LocalExecutor()
    prepared = executor.prepare(WriteArtifacts, {"outside": str(outside), "fail": fail})
    if fail:
        with pytest.raises(ActionFailedError):
            executor.execute_prepared(prepared)
    else:
        executor.execute_prepared(prepared)
    runtime.sink.flush()
    return prepared.run.id, runtime.store.events(prepared.run.id)


def published(events: list[Event]) -> list[CustomEvent]:
    return [e for e in events if isinstance(e, CustomEvent) and e.name == PUBLISHED_EVENT]


@pytest.mark.parametrize("form", ["name", "url"])
def test_artifacts_are_published_and_read_back(
    form: str, s3_server: S3Server, hoist_home: Path, tmp_path: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url = use_artifacts(monkeypatch, tmp_path, s3_server)
    if form == "url":  # an ad-hoc URL below the configured location: its credentials
        url += "/runs"
        monkeypatch.setenv("HOIST_ARTIFACTS", url)
    outside = tmp_path / "outside.txt"
    outside.write_text("not an artifact")
    runtime = get_runtime()
    run_id, events = run_it(runtime, outside)
    assert runtime.store.get_run(run_id).status is RunStatus.SUCCEEDED
    (record,) = published(events)
    assert record.data["url"] == f"{url}/{run_id}"
    assert (record.data["files"], record.data["bytes"]) == (2, len(WEIGHTS) + 13)
    assert events[-1].type == "status" and record.seq < events[-1].seq  # before the end

    shutil.rmtree(runtime.runs_dir / run_id)
    store = published_store(run_id, events, runtime.runs_dir, runtime.settings)
    assert store is not None
    assert store.list(run_id) == [
        ("artifacts/model.bin", len(WEIGHTS)),
        ("artifacts/sub/metrics.json", 13),
    ]
    assert b"".join(store.stream(run_id, "artifacts/model.bin")) == WEIGHTS
    for bad in ("../x", "artifacts/../../x", "/etc/passwd", "artifacts\\..\\x"):
        with pytest.raises(ValueError, match="inside the run folder"):
            store.open(run_id, bad)
    dumped = json.dumps([e.to_dict() if hasattr(e, "to_dict") else str(e) for e in events])
    assert s3_server.secret not in dumped and s3_server.key not in dumped


def test_a_failed_run_publishes_too_and_resending_skips_what_is_there(
    s3_server: S3Server, hoist_home: Path, tmp_path: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url = use_artifacts(monkeypatch, tmp_path, s3_server)
    runtime = get_runtime()
    run_id, events = run_it(runtime, tmp_path, fail=True)
    assert runtime.store.get_run(run_id).status is RunStatus.FAILED
    assert published(events)[0].data["sent"] == 2
    location = open_location("s3")
    store = ArtifactStore(runtime.runs_dir, location)
    local = runtime.runs_dir / run_id / "artifacts"
    assert store.publish(run_id, local)["sent"] == 0
    (local / "sub" / "metrics.json").write_text('{"loss": 0.2}')
    assert store.publish(run_id, local)["sent"] == 1
    assert location.read_bytes(f"{run_id}/artifacts/sub/metrics.json") == b'{"loss": 0.2}'
    assert location.url == url


def test_unreachable_storage_keeps_the_run_and_its_local_files(
    s3_server: S3Server, hoist_home: Path, tmp_path: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    closed = f"http://127.0.0.1:{free_port()}"
    url = use_artifacts(monkeypatch, tmp_path, s3_server, endpoint=closed)
    runtime = get_runtime()
    run_id, events = run_it(runtime, tmp_path)
    assert runtime.store.get_run(run_id).status is RunStatus.SUCCEEDED
    assert not published(events)
    (warning,) = [e for e in events if isinstance(e, LogEvent) and e.level == "WARNING"]
    assert warning.message.startswith(
        f"artifacts not published (storage 's3/{run_id}' ({url}/{run_id}): artifacts: unreachable"
    )
    assert warning.message.endswith("they stay in the run's local folder")
    local = ArtifactStore(runtime.runs_dir).list(run_id)
    assert ("artifacts/model.bin", len(WEIGHTS)) in local
    dumped = json.dumps([str(e) for e in events]) + warning.message
    assert s3_server.secret not in dumped and s3_server.key not in dumped


def test_a_reference_elsewhere_is_not_followed(
    s3_server: S3Server, hoist_home: Path, tmp_path: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Only the run's own folder below a location this process knows is read."""
    url = use_artifacts(monkeypatch, tmp_path, s3_server)
    settings = get_runtime().settings

    def record(where: str) -> list[Event]:
        return [CustomEvent(run_id="r1", seq=1, ts=0, name=PUBLISHED_EVENT, data={"url": where})]

    runs_dir = tmp_path / "runs"
    assert published_store("r1", record(f"{url}/r1"), runs_dir, settings) is not None
    assert published_store("r1", record(f"{url}/r2"), runs_dir, settings) is None
    assert published_store("r1", record("s3://other-bucket/x/r1"), runs_dir, settings) is None
    assert published_store("r1", record(f"{tmp_path.as_uri()}/r1"), runs_dir, settings) is None
    assert published_store("r1", [], runs_dir, settings) is None
