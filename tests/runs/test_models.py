"""Run and event models: validation at the boundary, ids, statuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hoist.runs.models import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    RUN_ADAPTER,
    ProgressEvent,
    RunStatus,
    StatusEvent,
    new_run_id,
)


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [new_run_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 24 for i in ids)
    assert ids[0][:12] <= ids[-1][:12]


def test_event_adapter_picks_class_by_type_and_validates() -> None:
    event = EVENT_ADAPTER.validate_python(
        {"run_id": "r", "seq": 1, "ts": 1.0, "type": "status", "status": "running"}
    )
    assert event == StatusEvent(run_id="r", seq=1, ts=1.0, status=RunStatus.RUNNING)
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python({"run_id": "r", "seq": 1, "ts": 1.0, "type": "bogus"})
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python(
            {"run_id": "r", "seq": "x", "ts": 1.0, "type": "progress", "current": 1, "total": 2}
        )


def test_event_json_round_trip() -> None:
    event = ProgressEvent(run_id="r", seq=2, ts=3.0, current=1, total=4, category="c")
    assert EVENT_ADAPTER.validate_json(EVENT_ADAPTER.dump_json(event)) == event
    assert event.to_dict()["type"] == "progress"
    assert event.payload() == {"current": 1, "total": 4, "category": "c"}


def test_every_event_type_is_registered() -> None:
    assert set(EVENT_TYPES) == {
        "status", "progress", "metrics", "log", "message", "dev", "custom", "step",
        "artifact", "checkpoint", "output", "lock", "result", "error",
    }  # fmt: skip


def test_run_validation_and_terminal_statuses() -> None:
    run = RUN_ADAPTER.validate_python({"id": "r", "status": "failed"})
    assert run.status is RunStatus.FAILED and run.status.is_terminal
    assert not RunStatus.RUNNING.is_terminal
    with pytest.raises(ValidationError):
        RUN_ADAPTER.validate_python({"id": "r", "status": "exploded"})
