"""``ctx.client``: a client of the configured Hoist server, bound to the run; ``None``
without a server. ``upload_file`` stores an artifact of the run on the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from hoist.client import HoistClient
from hoist.errors import HoistError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.runs.models import ArtifactEvent, RunStatus
from hoist.runs.runtime import Runtime
from hoist.settings import Settings
from tests.server.conftest import LiveServer


class Report(BaseModel):
    text: str = "hello"


class UploadAction(BaseAction[Report]):
    """The seed's pattern: ``if self.ctx.client: self.ctx.client.upload_file(...)``."""

    def execute(self) -> dict[str, Any]:
        if not self.ctx.client:
            return {"uploaded": None}
        file = self.ctx.artifacts_dir / "report.txt"
        file.write_text(self.params.text)
        stored = self.ctx.client.upload_file(file)
        return {"uploaded": stored, "is_client": isinstance(self.ctx.client, HoistClient)}


def test_without_a_server_client_is_none() -> None:
    assert LocalExecutor().execute(UploadAction, {}) == {"uploaded": None}


def test_with_a_server_upload_file_stores_a_run_artifact(
    server: LiveServer, tmp_path: Path
) -> None:
    token = server.token("operator", worker=True)
    # A worker that reaches the server, not the database (HOIST_SERVER_URL + HOIST_TOKEN).
    runtime = Runtime(Settings(home=tmp_path / "worker", server_url=server.url), token=token)
    try:
        executor = LocalExecutor(runtime=runtime)
        prepared = executor.prepare(UploadAction, {"text": "uploaded through ctx.client"})
        result = executor.execute_prepared(prepared)
        runtime.sink.flush()
    finally:
        runtime.close()
    assert result["is_client"] is True
    assert result["uploaded"] == {"path": "artifacts/report.txt", "size": 27}
    viewer = server.client("viewer")
    run_id = prepared.run.id
    assert viewer.get_run(run_id).status is RunStatus.SUCCEEDED
    assert viewer.get_artifact(run_id, "artifacts/report.txt") == b"uploaded through ctx.client"
    events = [e for e in viewer.events(run_id) if isinstance(e, ArtifactEvent)]
    assert [(e.path, e.name, e.size) for e in events] == [("report.txt", "report.txt", 27)]


def test_uploads_are_refused_for_ended_runs_and_outside_the_folder(
    server: LiveServer, tmp_path: Path
) -> None:
    operator = server.client("operator")
    run_id = operator.launch("text_stats", "word_count", params={"text": "a b c"}, mode="local")
    assert operator.wait(run_id).status is RunStatus.SUCCEEDED
    with pytest.raises(HoistError, match="has ended"):
        operator.put_artifact(run_id, "late.txt", b"too late")
    with pytest.raises(HoistError):  # normalised away by the client, refused if not
        operator.put_artifact(run_id, "../escape.txt", b"x")
    assert not list(server.state.runtime.runs_dir.rglob("escape.txt"))
    viewer = server.client("viewer")
    with pytest.raises(HoistError):
        viewer.put_artifact(run_id, "x.txt", b"viewers cannot write")
