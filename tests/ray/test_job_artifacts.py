"""mode='job' with ``HOIST_ARTIFACTS``: the job's process (started by the Ray head, which
never saw the driver's storage variables) publishes its run's artifacts to moto's real S3
server with the credentials the storage config names, which travel as job secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hoist import run_plugin
from hoist.runs.artifacts import PUBLISHED_EVENT, published_store
from hoist.runs.models import CustomEvent, RunStatus
from hoist.runs.runtime import get_runtime
from tests.runs.test_remote_artifacts import use_artifacts
from tests.storage.conftest import KEY_VAR, SECRET_VAR, s3_server  # noqa: F401
from tests.storage.servers import S3Server

WRITE = """
from hoist import action


@action(name="write")
def write(params, context):
    (context.artifacts_dir / "report.txt").write_text("made in a Ray job")
    return {"ok": True}
"""


def test_a_jobs_artifacts_are_published_from_the_job(
    ray_cluster: Any, calc_plugin: Path, hoist_home: Path, tmp_path: Path,
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:  # fmt: skip
    from hoist.executors.ray.job import RayJobExecutor

    (calc_plugin / "plugin" / "write.py").write_text(WRITE)
    config = calc_plugin / "config.yaml"
    config.write_text(config.read_text() + "  write:\n    entrypoint: plugin.write:write\n")
    url = use_artifacts(monkeypatch, tmp_path, s3_server)
    runtime = get_runtime()
    assert runtime.settings.artifacts == "s3"

    executor = RayJobExecutor(address=ray_cluster.address, runtime=runtime)
    assert run_plugin(calc_plugin, "write", {}, executor=executor) == {"ok": True}
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.SUCCEEDED
    events = runtime.store.events(run.id)
    (record,) = [e for e in events if isinstance(e, CustomEvent) and e.name == PUBLISHED_EVENT]
    assert record.data["url"] == f"{url}/{run.id}"
    store = published_store(run.id, events, runtime.runs_dir, runtime.settings)
    assert store is not None
    assert b"".join(store.stream(run.id, "artifacts/report.txt")) == b"made in a Ray job"
    # the credentials reached the job as secrets: never in its record or events
    recorded = repr(run) + repr(events)
    assert s3_server.secret not in recorded and s3_server.key not in recorded
    assert {KEY_VAR, SECRET_VAR}.isdisjoint(run.meta)
