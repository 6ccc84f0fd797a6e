"""Migration 0007: deployments keep the JSON Schema of their inputs; a store at 0006 with
deployments is upgraded and its records read on. A record's log file, and the endpoint
runner's bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from hoist.deployment import DeployConfig, EndpointRunner
from hoist.deployment.manager import DeploymentManager
from hoist.deployment.records import DeploymentRecord, DeploymentRecords
from hoist.errors import DeploymentError
from hoist.runs.runtime import Runtime
from hoist.runs.store import RunStore, migrate
from hoist.runs.store.migrate import current_revision
from hoist.runs.store.revision import HEAD_REVISION
from tests.conftest import write_files
from tests.waiting import wait_until

MAIN = "def predict(inputs):\n    print('to the log', flush=True)\n    return 1\n"
SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}


def test_a_store_at_0006_is_upgraded_and_its_deployments_read_on(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        conn.execute(
            sa.text(
                "INSERT INTO deployments (name, version, strategy, status, health, run_id, "
                "snapshot, config, created_at, updated_at) VALUES ('old', 1, 'local', "
                "'stopped', 'unknown', 'r1', '/tmp/old/1', '{}', 1.0, 1.0)"
            )
        )
    engine.dispose()
    store = RunStore(url)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
        records = DeploymentRecords(store.engine)
        old = records.get("old")
        assert old.input_schema is None and old.log_path == Path("/tmp/old/1.log")
        assert records.update("old", 1, input_schema=SCHEMA).input_schema == SCHEMA
        with store.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT input_schema FROM deployments")).scalar()
        assert json.loads(stored) == SCHEMA
        added = records.add(DeploymentRecord(name="new", version=0, strategy="process",
                                             status="deploying", run_id="r2", snapshot="",
                                             input_schema=SCHEMA))  # fmt: skip
        assert records.get("new").input_schema == SCHEMA
        assert added.log_path is None  # no snapshot yet
    finally:
        store.close()


def test_the_log_path_is_the_record_s_never_its_stored_config(
    runtime: Runtime, tmp_path: Path
) -> None:
    code = write_files(tmp_path / "code", {"main.py": MAIN})
    manager = DeploymentManager(runtime, ready_timeout=30)
    try:
        elsewhere = tmp_path / "elsewhere.log"
        record = manager.deploy(code, "local", config=DeployConfig(log_path=elsewhere))
        assert "log_path" not in record.config and not elsewhere.exists()
        assert record.log_path == Path(record.snapshot + ".log")
        assert manager.invoke("code", {})["status"] == "success"
        assert "to the log" in manager.logs("code")
        assert record.log_path is not None
        assert wait_until(lambda: "to the log" in record.log_path.read_text(), what="the file")
    finally:
        manager.close()


def test_an_endpoint_runner_needs_an_endpoint() -> None:
    with pytest.raises(DeploymentError, match="needs an endpoint URL"):
        EndpointRunner("")
