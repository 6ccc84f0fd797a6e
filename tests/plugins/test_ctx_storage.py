"""``ctx.storage``: an action reads its dataset from a named location and writes its result
there, on the real S3 server, with the storage config read from the run's settings."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pydantic import BaseModel
from tests.storage.conftest import BUCKET, KEY_VAR, SECRET_VAR, s3_server
from tests.storage.servers import S3Server

from hoist.errors import ActionFailedError, StorageLocationNotFoundError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.plugins.context import RuntimeContext
from hoist.runs.sinks.memory import MemorySink
from hoist.storage import LocationConfig, StorageConfig, open_location
from hoist.storage.config import load_storage_config

__all__ = ["s3_server"]

CSV = "sepal,petal,label\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n"


class SummaryParams(BaseModel):
    dataset: str
    output: str


class Summarize(BaseAction[SummaryParams]):
    """Counts the labels of a CSV on ``data`` and writes the counts beside it."""

    def execute(self) -> dict[str, object]:
        data = self.ctx.storage("data")
        assert self.ctx.storage("data") is data  # opened once per run
        with data.open(self.params.dataset) as source:
            rows = source.read().decode().splitlines()[1:]
        counts: dict[str, int] = {}
        for row in rows:
            label = row.rsplit(",", 1)[1]
            counts[label] = counts.get(label, 0) + 1
        data.write_bytes(self.params.output, json.dumps(counts).encode())
        return {"rows": len(rows), "written": data.url_of(self.params.output)}


@pytest.fixture
def data_prefix(s3_server: S3Server, hoist_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``data`` in ``<home>/storage.yaml``: a fresh prefix of the test bucket, its keys
    in the environment (the config names the variables only)."""
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    hoist_home.mkdir(parents=True, exist_ok=True)
    (hoist_home / "storage.yaml").write_text(
        "storage:\n"
        "  data:\n"
        f"    url: {url}\n"
        f"    options: {{endpoint_url: '{s3_server.endpoint}'}}\n"
        "    credentials:\n"
        f"      env: {{key: {KEY_VAR}, secret: {SECRET_VAR}}}\n"
    )
    monkeypatch.setenv(KEY_VAR, s3_server.key)
    monkeypatch.setenv(SECRET_VAR, s3_server.secret)
    return url


def test_an_action_reads_and_writes_a_named_location(data_prefix: str) -> None:
    bucket = open_location("data", config=load_storage_config())
    bucket.write_bytes("iris/train.csv", CSV.encode())

    result = LocalExecutor(sink=MemorySink()).execute(
        Summarize, {"dataset": "iris/train.csv", "output": "iris/summary.json"}
    )

    assert result == {"rows": 3, "written": f"{data_prefix}/iris/summary.json"}
    summary = json.loads(bucket.read_bytes("iris/summary.json"))
    assert summary == {"setosa": 1, "versicolor": 1, "virginica": 1}


def test_a_missing_dataset_fails_the_run_naming_the_location(
    data_prefix: str, s3_server: S3Server
) -> None:
    with pytest.raises(ActionFailedError) as failed:
        LocalExecutor(sink=MemorySink()).execute(
            Summarize, {"dataset": "iris/absent.csv", "output": "out.json"}
        )
    message = str(failed.value)
    assert "storage 'data'" in message and "iris/absent.csv" in message
    assert "not found" in message and s3_server.secret not in message


def test_an_unknown_name_is_refused_and_urls_and_folders_work(
    data_prefix: str, tmp_path: Path
) -> None:
    ctx = RuntimeContext("run-1", MemorySink())
    with pytest.raises(StorageLocationNotFoundError, match="weights"):
        ctx.storage("weights")  # the config names only "data"

    folder = ctx.storage(tmp_path / "outputs")
    folder.write_bytes("a.txt", b"alpha")
    assert (tmp_path / "outputs" / "a.txt").read_bytes() == b"alpha"
    assert ctx.storage((tmp_path / "outputs").as_uri()).read_bytes("a.txt") == b"alpha"


def test_a_given_config_is_used_instead_of_the_settings(tmp_path: Path) -> None:
    named = LocationConfig(name="scratch", url=(tmp_path / "scratch").as_uri())
    ctx = RuntimeContext("run-1", MemorySink(), storage_config=StorageConfig({"scratch": named}))
    ctx.storage("scratch").write_bytes("x/y.txt", b"why")
    assert (tmp_path / "scratch" / "x" / "y.txt").read_bytes() == b"why"
