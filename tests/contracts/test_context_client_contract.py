"""``ctx.client`` on every executor: with a Hoist server configured (its URL and a token),
an action in any process (this one, a warm Ray actor, a Ray Job's process) gets a client
of that server and ``upload_file`` stores an artifact of its run there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hoist.runs.models import ArtifactEvent, RunStatus
from hoist.runs.runtime import Runtime, configure
from hoist.settings import Settings
from tests.contracts.conftest import Place
from tests.server.conftest import LiveServer, serve, server_settings

UPLOADER = """
from hoist import action


@action(name="upload")
def upload(params, context):
    file = context.artifacts_dir / "report.txt"
    file.write_text("made by " + context.run_id)
    return {"stored": context.client.upload_file(file) if context.client else None}
"""


@pytest.fixture
def server(hoist_home: Path) -> Iterator[LiveServer]:
    with serve(server_settings(hoist_home)) as live:
        yield live


@pytest.fixture
def runtime(hoist_home: Path, server: LiveServer) -> Runtime:
    """The driver's runtime: the server's own store (shared), the server and a token."""
    token = server.token("operator")
    settings = Settings(
        home=hoist_home, database_url=f"sqlite:///{hoist_home / 'hoist.db'}", server_url=server.url
    )
    return configure(settings, token=token)


def test_an_action_uploads_an_artifact_through_ctx_client(
    place: Place, contract_plugin: Path, server: LiveServer
) -> None:
    (contract_plugin / "plugin" / "uploader.py").write_text(UPLOADER)
    config = contract_plugin / "config.yaml"
    config.write_text(config.read_text() + "  upload:\n    entrypoint: plugin.uploader:upload\n")
    handle = place.executor.submit("upload", {})
    result = handle.result(timeout=120)
    viewer = server.client("viewer")
    run = viewer.get_run(handle.run_id)
    assert run.status is RunStatus.SUCCEEDED
    content = viewer.get_artifact(handle.run_id, "artifacts/report.txt")
    assert content == f"made by {handle.run_id}".encode()
    assert result == {"stored": {"path": "artifacts/report.txt", "size": len(content)}}
    uploads = [e for e in viewer.events(handle.run_id) if isinstance(e, ArtifactEvent)]
    assert [(e.path, e.size) for e in uploads] == [("report.txt", len(content))]
