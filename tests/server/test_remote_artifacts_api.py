"""The API (and the panel's links) list and download a run's artifacts from the S3
location they were published to (moto's real server), also once the local folder is
gone; paths leaving the run's folder are still refused."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoist.runs.artifacts import PUBLISHED_EVENT
from hoist.runs.models import RunStatus
from hoist.server.panel.digest import digest_run
from tests.server.conftest import LiveServer, serve, server_settings
from tests.storage.conftest import BUCKET, KEY_VAR, SECRET_VAR, s3_server  # noqa: F401
from tests.storage.servers import S3Server

API = "/api/v1"


@pytest.fixture
def published_server(
    s3_server: S3Server,  # noqa: F811
    hoist_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LiveServer]:
    """A server whose runs publish their artifacts to location ``s3`` (a fresh prefix)."""
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    config = tmp_path / "storage.yaml"
    config.write_text(
        json.dumps(
            {
                "storage": {
                    "s3": {
                        "url": url,
                        "options": {"endpoint_url": s3_server.endpoint},
                        "credentials": {"env": {"key": KEY_VAR, "secret": SECRET_VAR}},
                    }
                }
            }
        )
    )
    for name, value in (("HOIST_STORAGE_CONFIG", str(config)), ("HOIST_ARTIFACTS", "s3"),
                        (KEY_VAR, s3_server.key), (SECRET_VAR, s3_server.secret)):  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = server_settings(hoist_home, artifacts="s3", storage_config=config)
    with serve(settings, keepalive=0.5) as live:
        yield live


def test_artifacts_are_listed_and_downloaded_from_the_location(
    published_server: LiveServer,
    s3_server: S3Server,  # noqa: F811
) -> None:
    server = published_server
    admin = server.client()
    run_id = admin.launch("sim_train", "train", params={"epochs": 2, "sleep_per_epoch": 0})
    assert admin.wait(run_id).status is RunStatus.SUCCEEDED
    weights = admin.get_artifact(run_id, "artifacts/weights.json")
    http = server.http(server.token())
    page = http.get(f"{API}/runs/{run_id}/events", params={"limit": 1000}).json()["events"]
    (record,) = [e for e in page if e["type"] == "custom" and e["name"] == PUBLISHED_EVENT]
    assert record["data"]["location"] == "s3" and record["data"]["url"].endswith(f"/{run_id}")
    assert s3_server.secret not in json.dumps(page) and s3_server.key not in json.dumps(page)

    shutil.rmtree(server.state.runtime.runs_dir / run_id)  # only the published copy is left
    files = admin.list_artifacts(run_id)
    assert [(f["path"], f["size"]) for f in files] == [("artifacts/weights.json", len(weights))]
    assert admin.get_artifact(run_id, "artifacts/weights.json") == weights
    base = f"{API}/runs/{run_id}/artifacts/"
    response = http.get(base + "artifacts/weights.json")
    assert response.status_code == 200 and response.content == weights
    assert "weights.json" in response.headers["content-disposition"]
    assert http.get(base + "artifacts/missing.json").status_code == 404
    assert http.get(base + "manifest.json").status_code == 404
    for attack in (
        "..%2F..%2Foutside.txt",
        "artifacts%2F..%2F..%2F..%2Foutside.txt",
        "%2E%2E/%2E%2E/outside.txt",
        "..%5C..%5Coutside.txt",
        "%2Fetc%2Fpasswd",
        "artifacts/%00",
    ):
        assert http.get(base + attack).status_code in (400, 404), attack

    # The run page's artifact links go through the API, so they download from there too.
    state = server.state
    run = state.store.get_run(run_id)
    digest = digest_run(state.store, run, state.runtime.runs_dir)
    (link,) = [a["href"] for a in digest.artifacts if a["path"].endswith("weights.json")]
    assert http.get(link).content == weights


def test_a_server_without_the_location_serves_only_local_files(
    published_server: LiveServer, hoist_home: Path
) -> None:
    """A server that does not know the location a run names never reads from it."""
    admin = published_server.client()
    run_id = admin.launch("sim_train", "train", params={"epochs": 1, "sleep_per_epoch": 0})
    admin.wait(run_id)
    runs_dir = published_server.state.runtime.runs_dir
    shutil.rmtree(runs_dir / run_id)
    other = server_settings(hoist_home)  # no storage config, no HOIST_ARTIFACTS
    with serve(other, keepalive=0.5) as elsewhere:
        assert elsewhere.client().list_artifacts(run_id) == []
        http = elsewhere.http(elsewhere.token())
        missing = http.get(f"{API}/runs/{run_id}/artifacts/artifacts/weights.json")
        assert missing.status_code == 404
