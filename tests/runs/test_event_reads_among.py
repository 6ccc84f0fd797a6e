"""Reads of many runs' logs at once (a pipeline's page reads all its nodes): the same
answers as the one-run reads, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from hoist.runs.models import (
    ArtifactEvent,
    LogEvent,
    ProgressEvent,
    Run,
    StepEvent,
    new_run_id,
)
from hoist.runs.store import RunStore


def test_events_of_type_and_main_progress_among(store_url: str) -> None:
    store = RunStore(store_url)
    try:
        now = time.time()
        runs = [Run(id=new_run_id(), created_at=now) for _ in range(3)]
        first, second, third = runs
        events = [
            ProgressEvent(run_id=first.id, seq=1, ts=now, current=1, total=4),
            StepEvent(run_id=first.id, seq=2, ts=now, step="load", phase="started"),
            ProgressEvent(run_id=first.id, seq=3, ts=now, current=2, total=4),
            ProgressEvent(run_id=first.id, seq=4, ts=now, current=9, total=9, category="io"),
            LogEvent(run_id=first.id, seq=5, ts=now, message="x"),
            ArtifactEvent(run_id=second.id, seq=1, ts=now, path="a.txt"),
            StepEvent(run_id=second.id, seq=2, ts=now, step="fit", phase="finished"),
            ProgressEvent(run_id=third.id, seq=1, ts=now, current=5, total=9, category="io"),
        ]
        store.write_batch(runs, events)
        ids = [r.id for r in runs]
        found = store.events_of_type_among(ids, ("step", "artifact"))
        assert [e.seq for e in found[first.id]] == [2]
        assert [(e.type, e.seq) for e in found[second.id]] == [("artifact", 1), ("step", 2)]
        assert found[third.id] == []
        assert len(store.events_of_type_among(ids, ("step", "artifact"), limit=2)[first.id]) == 1
        main = store.main_progress_among(ids)
        assert set(main) == {first.id}  # the others have no main bar
        assert main[first.id].seq == 3 and main[first.id].current == 2
        assert main[first.id] == store.latest_progress(first.id)[None]
    finally:
        store.close()
