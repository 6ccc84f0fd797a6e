"""The panel's reads (through the run store) on SQLite and on a real PostgreSQL (the
newest progress of each bar is grouped by the database's JSON functions)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoist.runs.models import (
    ArtifactEvent,
    EventBase,
    MessageEvent,
    MetricsEvent,
    ProgressEvent,
    Run,
    RunStatus,
    StatusEvent,
    StepEvent,
    new_run_id,
)
from hoist.runs.store import RunStore
from hoist.server.panel.digest import artifact_href, digest_run
from hoist.server.panel.reads import log_window


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    found = RunStore(store_url)
    yield found
    found.close()


def test_digest_reads_bars_steps_metrics_messages(store: RunStore, tmp_path: Path) -> None:
    now = time.time()
    run = Run(id=new_run_id(), plugin="p", action="a", created_at=now)
    events: list[EventBase] = [StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)]
    seq = 1
    for i in range(1, 301):
        for category in (None, "batches", "epochs"):
            seq += 1
            events.append(
                ProgressEvent(
                    run_id=run.id,
                    seq=seq,
                    ts=now,
                    current=i,
                    total=300 if category else 600,
                    category=category,
                )
            )
    more: list[EventBase] = [
        StepEvent(run_id=run.id, seq=seq + 1, ts=now, step="load", phase="started"),
        StepEvent(run_id=run.id, seq=seq + 2, ts=now, step="load", phase="finished"),
        StepEvent(run_id=run.id, seq=seq + 3, ts=now, step="fit", phase="started"),
        MetricsEvent(run_id=run.id, seq=seq + 4, ts=now, values={"loss": 0.5, "note": "x"}),
        MessageEvent(run_id=run.id, seq=seq + 5, ts=now, text="*hi* <script>x</script>"),
        ArtifactEvent(run_id=run.id, seq=seq + 6, ts=now, path="model.bin", size=10),
    ]
    store.write_batch([run], events + more)
    latest = store.latest_progress(run.id)
    assert {k: (e.current, e.total) for k, e in latest.items()} == {
        None: (300.0, 600.0), "batches": (300.0, 300.0), "epochs": (300.0, 300.0)
    }  # fmt: skip
    d = digest_run(store, store.get_run(run.id), tmp_path)
    assert d.overall.percent == 50.0 and d.overall.state == "running"
    assert [(b.label, b.percent) for b in d.categories] == [("batches", 100.0), ("epochs", 100.0)]
    assert [(b.label, b.state) for b in d.steps] == [("load", "done"), ("fit", "running")]
    assert d.metrics[0]["values"] == {"loss": 0.5}  # text values are not plotted
    assert d.messages[0]["html"].startswith("<p><em>hi</em> &lt;script&gt;")
    assert d.artifacts == [
        {
            "name": "model.bin",
            "path": "model.bin",
            "size": 10,
            "href": f"/api/v1/runs/{run.id}/artifacts/artifacts/model.bin",
        }
    ]

    window = log_window(store, run.id, None, 100)
    assert [e.seq for e in window.events] == list(range(seq - 93, seq + 7))
    assert window.has_earlier and window.total == seq + 6
    assert [e.seq for e in log_window(store, run.id, 3, 100).events] == [1, 2]


def test_artifact_links_stay_inside_run_folders(tmp_path: Path) -> None:
    run = Run(id="abc123", created_at=0)
    runs_dir = tmp_path / "runs"
    inside = runs_dir / "parent1" / "work" / "w.json"
    assert artifact_href(runs_dir, run, str(inside)) == "/api/v1/runs/parent1/artifacts/work/w.json"
    assert artifact_href(runs_dir, run, "/etc/passwd") is None
    assert artifact_href(runs_dir, run, "../../x") is None
    assert (
        artifact_href(runs_dir, run, "a b.txt")
        == "/api/v1/runs/abc123/artifacts/artifacts/a%20b.txt"
    )
