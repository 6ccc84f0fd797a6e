"""The ingest endpoint: remote workers post batches with a worker token; re-posting adds
and changes nothing. (Its attacks are in test_attacks_ingest.py.)"""

from __future__ import annotations

import time

import pytest

from hoist.client import PermissionDeniedError
from hoist.errors import ParamsValidationError
from hoist.runs.models import EventBase, LogEvent, ProgressEvent, Run, RunStatus, StatusEvent
from tests.server.conftest import LiveServer

API = "/api/v1"


def _batch(run_id: str) -> tuple[list[Run], list[EventBase]]:
    now = time.time()
    run = Run(id=run_id, plugin="remote", action="work", mode="remote")
    events = [
        StatusEvent(run_id=run_id, seq=1, ts=now, status=RunStatus.RUNNING),
        ProgressEvent(run_id=run_id, seq=2, ts=now, current=1, total=2),
        LogEvent(run_id=run_id, seq=3, ts=now, message="half way"),
    ]
    return [run], events


def test_ingest_is_idempotent(server: LiveServer) -> None:
    worker = server.worker()
    runs, events = _batch("remote0000000000000001")
    first = worker.ingest(runs, events)
    assert (first.runs_added, first.events_added) == (1, 3)
    again = worker.ingest(runs, events)
    assert (again.runs_added, again.events_added) == (0, 0)
    end = StatusEvent(run_id=runs[0].id, seq=4, ts=time.time(), status=RunStatus.SUCCEEDED)
    assert worker.ingest([], [end]).events_added == 1
    worker.ingest(runs, events)  # an old batch, re-posted late
    run = worker.get_run(runs[0].id)
    assert run.status is RunStatus.SUCCEEDED  # ... changes nothing
    assert [e.seq for e in worker.events(run.id)] == [1, 2, 3, 4]


def test_ingest_refuses_events_of_unknown_runs_and_bad_values(server: LiveServer) -> None:
    worker = server.worker()
    orphan = LogEvent(run_id="nosuchrun000000000000001", seq=1, ts=time.time(), message="x")
    # A run that does not exist is not found (404), the events naming it in ``errors``;
    # the client raises it as the batch's field errors.
    with pytest.raises(ParamsValidationError) as caught:
        worker.ingest([], [orphan])
    assert caught.value.field_errors == {"events.0.run_id": ["unknown run"]}
    http = server.http(server.token("operator", worker=True))
    runs, events = _batch("remote0000000000000009")
    mixed = {"runs": [r.to_dict() for r in runs],
             "events": [*(e.to_dict() for e in events), orphan.to_dict()]}  # fmt: skip
    answer = http.post(f"{API}/ingest", json=mixed)
    assert answer.status_code == 404, answer.text
    assert answer.json() == {
        "detail": "unknown run 'nosuchrun000000000000001'",
        "errors": {"events.3.run_id": ["unknown run"]},
        "kind": "run",
        "name": "nosuchrun000000000000001",
    }
    assert server.state.store.existing_run_ids([runs[0].id]) == set()  # nothing stored
    spec = http.get(f"{API}/openapi.json").json()
    documented = spec["paths"][f"{API}/ingest"]["post"]["responses"]["404"]
    schema = documented["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    bad = {"events": [{"run_id": "r1", "seq": 2**40, "ts": 1.0, "type": "log", "message": "x"}]}
    response = http.post(f"{API}/ingest", json=bad)
    assert response.status_code == 422 and "events.0.seq" in response.json()["errors"]
    bad_type = {"events": [{"run_id": "r1", "seq": 1, "ts": 1.0, "type": "nope"}]}
    assert http.post(f"{API}/ingest", json=bad_type).status_code == 422
    long_id = {"runs": [{"id": "x" * 80}]}
    assert http.post(f"{API}/ingest", json=long_id).status_code == 422


def test_ingest_needs_a_worker_token_of_an_operator(server: LiveServer) -> None:
    runs, events = _batch("remote0000000000000002")
    with pytest.raises(PermissionDeniedError, match="operator"):
        server.worker("viewer").ingest(runs, events)
    for role in ("operator", "admin"):  # their user tokens act as them, but do not ingest
        with pytest.raises(PermissionDeniedError, match="worker token"):
            server.client(role).ingest(runs, events)
    assert server.worker("admin").ingest(runs, events).runs_added == 1


def test_ingested_events_reach_live_streams(server: LiveServer) -> None:
    worker, viewer = server.worker(), server.client("viewer")
    runs, events = _batch("remote0000000000000003")
    worker.ingest(runs, events[:1])
    stream = viewer.stream_events(runs[0].id)
    assert next(stream).seq == 1
    worker.ingest([], events[1:])
    assert [next(stream).seq, next(stream).seq] == [2, 3]
    end = StatusEvent(run_id=runs[0].id, seq=4, ts=time.time(), status=RunStatus.FAILED)
    worker.ingest([], [end])
    assert [e.seq for e in stream] == [4]
