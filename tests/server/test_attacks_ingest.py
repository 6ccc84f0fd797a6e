"""Attacks on ``POST /api/v1/ingest`` (issue 10, item 2), each performed against a real
server on SQLite and on PostgreSQL: nobody but the worker that created a run may post to
it, and an ended run never changes.

Before the fix any operator token turned another user's succeeded run into ``cancelled``
with one status event, and forged its logs; every test here failed then.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist.client import ConflictError, PermissionDeniedError
from hoist.runs.models import EventBase, LogEvent, Run, RunStatus, StatusEvent
from tests.server.conftest import ADMIN_PASSWORD, LiveServer, serve, server_settings

API = "/api/v1"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, hoist_home: Path) -> Iterator[LiveServer]:
    """A real server on SQLite, or on a fresh PostgreSQL database."""
    changes: dict[str, Any] = {}
    if request.param == "postgresql":
        changes["database_url"] = request.getfixturevalue("postgres_url")
    with serve(server_settings(hoist_home, **changes), keepalive=0.5) as server:
        yield server


def _post(
    http: httpx.Client,
    runs: list[Run] | None = None,
    events: Sequence[EventBase] | None = None,
    alive: list[str] | None = None,
) -> httpx.Response:
    body = {
        "runs": [r.to_dict() for r in runs or []],
        "events": [e.to_dict() for e in events or []],
        "alive": alive or [],
    }
    return http.post(f"{API}/ingest", json=body)


def _status(run_id: str, seq: int, status: RunStatus) -> StatusEvent:
    return StatusEvent(run_id=run_id, seq=seq, ts=time.time(), status=status)


def _log(run_id: str, seq: int, message: str = "forged") -> LogEvent:
    return LogEvent(run_id=run_id, seq=seq, ts=time.time(), message=message)


def _snapshot(server: LiveServer, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's record and its whole log, as a viewer reads them."""
    viewer = server.client("viewer")
    return viewer.get_run(run_id).to_dict(), [e.to_dict() for e in viewer.events(run_id)]


def _finished_user_run(server: LiveServer) -> str:
    """A run the server launched for its admin, waited on until it succeeded."""
    admin = server.client("admin")
    run_id = admin.launch("text_stats", "word_count", params={"text": "to be or not"})
    assert admin.wait(run_id).status is RunStatus.SUCCEEDED
    return run_id


def _refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, (word, detail)


# ----------------------------------------------------------------- the credential
def test_a_user_token_or_a_session_cannot_rewrite_a_finished_run(live: LiveServer) -> None:
    run_id = _finished_user_run(live)
    before = _snapshot(live, run_id)
    last = before[1][-1]["seq"]
    attack = [_status(run_id, last + 1, RunStatus.CANCELLED), _log(run_id, last + 2)]
    for token in (live.token("operator"), live.token("admin")):
        _refused(_post(live.http(token), events=attack), 403, "worker token")
    browser = live.client_with(None)
    browser.login("admin", ADMIN_PASSWORD)  # a session (with its CSRF token) is no worker
    with pytest.raises(PermissionDeniedError, match="worker token"):
        browser.ingest([], attack)
    assert _snapshot(live, run_id) == before


def test_a_worker_cannot_post_to_a_run_the_server_launched(live: LiveServer) -> None:
    run_id = _finished_user_run(live)
    before = _snapshot(live, run_id)
    last = before[1][-1]["seq"]
    worker = live.http(live.token("operator", worker=True))
    _refused(_post(worker, events=[_status(run_id, last + 1, RunStatus.CANCELLED)]), 403,
             run_id, "not created by this worker")  # fmt: skip
    _refused(_post(worker, events=[_log(run_id, last + 1)]), 403, run_id)
    record = live.client("viewer").get_run(run_id).copy(status=RunStatus.CANCELLED)
    _refused(_post(worker, runs=[record]), 403, "runs.0")  # its record, posted again
    child = Run(id="forgedchild0000000000001", parent_id=run_id, plugin="text_stats")
    _refused(_post(worker, runs=[child], events=[_status(child.id, 1, RunStatus.FAILED)]),
             403, "runs.0.parent_id")  # fmt: skip
    assert _snapshot(live, run_id) == before
    assert live.client("viewer").list_runs(parent=run_id) == []


def test_worker_a_cannot_post_to_worker_b_runs(live: LiveServer) -> None:
    """Two worker tokens of one operator: each is scoped to the runs it created."""
    b = live.http(live.token("operator", "ops", worker=True))
    a = live.http(live.token("operator", "ops", worker=True))
    run = Run(id="workerb00000000000000001", plugin="remote", action="work")
    assert _post(b, [run], [_status(run.id, 1, RunStatus.RUNNING), _log(run.id, 2, "mine")]
                 ).status_code == 200  # fmt: skip
    live.client("operator").cancel(run.id)  # a user asks the run to stop
    before = _snapshot(live, run.id)
    for events in ([_status(run.id, 3, RunStatus.SUCCEEDED)], [_log(run.id, 3)]):
        _refused(_post(a, events=events), 403, run.id, "not created by this worker")
    _refused(_post(a, runs=[run.copy(status=RunStatus.FAILED)]), 403, "runs.0")
    child = Run(id="workerachild000000000001", parent_id=run.id)
    _refused(_post(a, runs=[child]), 403, "runs.0.parent_id")
    # Listing B's run as alive neither keeps it alive nor tells A it was cancelled.
    heartbeat = _post(a, alive=[run.id])
    assert heartbeat.status_code == 200 and heartbeat.json()["cancel_requested"] == []
    assert _snapshot(live, run.id) == before  # heartbeat_at included
    # B itself is told, and ends its run as it should.
    assert _post(b, alive=[run.id]).json()["cancel_requested"] == [run.id]
    assert _post(b, events=[_status(run.id, 3, RunStatus.CANCELLED)]).status_code == 200
    assert live.client("viewer").get_run(run.id).status is RunStatus.CANCELLED


# ----------------------------------------------------------------- the run's state
def test_an_ended_run_never_changes(live: LiveServer) -> None:
    worker = live.http(live.token("operator", worker=True))
    run = Run(id="ended000000000000000001", plugin="remote", action="work")
    batch = [_status(run.id, 1, RunStatus.RUNNING), _log(run.id, 2, "working"),
             _status(run.id, 3, RunStatus.SUCCEEDED)]  # fmt: skip
    assert _post(worker, [run], batch).json()["events_added"] == 3
    before = _snapshot(live, run.id)
    assert before[0]["status"] == "succeeded"
    for late in (RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.RUNNING, RunStatus.SUCCEEDED):
        _refused(_post(worker, events=[_status(run.id, 4, late)]), 409, "has ended (succeeded)")
    _refused(_post(worker, events=[_log(run.id, 4)]), 409, "events.0", "has ended")
    again = _post(worker, [run], batch)  # the same batch, its answer lost: a duplicate
    assert again.status_code == 200 and again.json()["events_added"] == 0
    assert _snapshot(live, run.id) == before


def test_a_worker_may_not_make_a_status_move_a_run_cannot(live: LiveServer) -> None:
    worker = live.worker()
    one = Run(id="moves0000000000000000001", plugin="remote", action="work")
    two = Run(id="moves0000000000000000002", plugin="remote", action="work")
    worker.ingest([one, two], [_status(one.id, 1, RunStatus.RUNNING)])
    with pytest.raises(ConflictError, match="from running back to queued"):
        worker.ingest([], [_status(one.id, 2, RunStatus.QUEUED)])
    # One bad event refuses its whole batch: nothing of it is stored.
    with pytest.raises(ConflictError, match=r"events\.2"):
        worker.ingest([], [_log(two.id, 1, "fine"), _status(one.id, 2, RunStatus.SUCCEEDED),
                           _status(one.id, 3, RunStatus.RUNNING)])  # fmt: skip
    viewer = live.client("viewer")
    assert viewer.events(two.id) == [] and viewer.get_run(one.id).status is RunStatus.RUNNING
    # queued -> running -> an end, once: the legitimate order goes through.
    assert worker.ingest([], [_status(two.id, 1, RunStatus.RUNNING),
                              _status(two.id, 2, RunStatus.FAILED)]).events_added == 2  # fmt: skip


# ----------------------------------------------------------------- the token itself
def test_a_worker_token_cannot_mint_or_revoke_tokens(live: LiveServer) -> None:
    worker_token = live.token("operator", "ops", worker=True)
    worker = live.http(worker_token)
    created = worker.post(f"{API}/tokens", json={"name": "escape"})
    _refused(created, 403, "worker token cannot")
    user_token = live.client("operator").create_token("mine")["info"]["id"]
    _refused(worker.delete(f"{API}/tokens/{user_token}"), 403, "worker token cannot")
    viewer = live.http(live.token("viewer"))
    _refused(viewer.post(f"{API}/tokens", json={"name": "w", "kind": "worker"}), 403,
             "operator role")  # fmt: skip
    operator = live.http(live.token("operator"))
    minted = operator.post(f"{API}/tokens", json={"name": "w", "kind": "worker"})
    assert minted.status_code == 201 and minted.json()["info"]["kind"] == "worker"
    run = Run(id="minted000000000000000001")
    assert _post(live.http(minted.json()["token"]), [run]).json()["runs_added"] == 1


@pytest.mark.parametrize(
    "wrong",
    [
        {"ts": False},  # a boolean for a timestamp (lax mode read it as 0.0)
        {"seq": "2"},  # a string for an integer
        {"seq": True},  # a boolean for an integer (lax mode read it as 1)
        {"ts": "5"},  # a string for a number
        {"message": 5},  # a number for a string
    ],
)
def test_ingest_refuses_what_its_schema_refuses(live: LiveServer, wrong: dict[str, Any]) -> None:
    """JSON types are the document's: nothing is coerced into a run's history (a
    schema-invalid event used to be stored, ``false`` as the epoch)."""
    http = live.http(live.token("operator", worker=True))
    run = Run(id="typed0000000000000001", plugin="p", action="a", status=RunStatus.RUNNING)
    assert _post(http, [run]).status_code == 200
    event = {**_log(run.id, 2).to_dict(), **wrong}
    refused = http.post(f"{API}/ingest", json={"events": [event]})
    assert refused.status_code == 422, refused.text
    assert [key.split(".")[:2] for key in refused.json()["errors"]] == [["events", "0"]]
    assert _post(http, events=[_log(run.id, 2, "typed")]).status_code == 200  # the real one
    logs = [e.message for e in live.state.store.events(run.id) if isinstance(e, LogEvent)]
    assert logs == ["typed"]


def test_ingest_takes_an_integer_written_as_a_float_as_its_schema_does(
    live: LiveServer,
) -> None:
    """JSON Schema's ``integer`` includes ``2.0``: a ``seq`` (or an artifact's ``size``)
    so written is the integer; ``2.5`` is still refused."""
    http = live.http(live.token("operator", worker=True))
    run = Run(id="integral000000000000001", plugin="p", action="a", status=RunStatus.RUNNING)
    assert _post(http, [run]).status_code == 200
    half = {**_log(run.id, 2).to_dict(), "seq": 2.5}
    assert http.post(f"{API}/ingest", json={"events": [half]}).status_code == 422
    whole = {**_log(run.id, 2, "integral").to_dict(), "seq": 2.0}
    answer = http.post(f"{API}/ingest", json={"events": [whole]})
    assert answer.status_code == 200 and answer.json()["events_added"] == 1, answer.text
    [stored] = [e for e in live.state.store.events(run.id) if isinstance(e, LogEvent)]
    assert (stored.seq, stored.message) == (2, "integral")
