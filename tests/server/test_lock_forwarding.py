"""Answering a service run's lock through the Hoist server: ``POST
/api/v1/runs/{id}/locks/{lock_id}`` checks the caller and the lock against the store,
then forwards the values to the run's (registered) service with an identity bound to
the run; the service's 200, 422 and 409 pass through. A real ServeAPI app on uvicorn and
a live server share the test's SQLite store and the secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist import forms as F
from hoist.forms.errors import InputsError
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import Launch, ServeAPI
from hoist.services.identity import IDENTITY_HEADER, sign
from hoist.services.tracer import Tracer
from tests.server.conftest import LiveServer
from tests.server.live_services import SECRET, hoist_server, running, status_of
from tests.services.conftest import ended, events, recorded
from tests.waiting import wait_until

DRAFT = F.Model(F.InputText("draft", "Draft", required=True), F.Submit("Write"))


async def review(inputs: dict[str, Any], tracer: Tracer) -> dict[str, Any]:
    """Ask a person to approve or edit the draft; the run's result is their answer."""
    timeout = 0.3 if inputs["draft"] == "hurry" else None
    answer: dict[str, Any] = await tracer.lock("review", data=inputs, timeout=timeout)
    return answer


def reviewer(runtime: Runtime) -> ServeAPI:
    app = ServeAPI(title="Reviewer", runtime=runtime, secret=SECRET)

    @app.enter("/", model=DRAFT, summary="Review")
    async def enter(request: Any, inputs: dict[str, Any]) -> Any:
        return Launch(request, review, inputs=inputs)

    @app.lock("review")
    def review_form(data: dict[str, Any]) -> F.Model:
        return F.Model(
            F.InputText("text", "Text", value=data["draft"], required=True), F.Submit("OK")
        )

    @app.lease("review")
    def no_shouting(inputs: dict[str, Any], user: str | None) -> dict[str, Any]:
        if inputs["text"].isupper():
            raise InputsError(text="no shouting")
        return {"text": inputs["text"], "by": user}

    return app


class Setup:
    def __init__(self, live: LiveServer, base: str, runtime: Runtime) -> None:
        self.live, self.base, self.runtime = live, base, runtime

    def launch(self, user: str, role: str, draft: str = "hello") -> str:
        """Launch at the service as ``user`` (signed as the server would); the run id."""
        headers = {IDENTITY_HEADER: sign(SECRET, user, role)}
        answer = httpx.post(f"{self.base}/", json={"draft": draft}, headers=headers)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["run_id"])

    def open_lock(self, run_id: str) -> str:
        def check() -> str | None:
            self.runtime.sink.flush()
            run = recorded(self.runtime, run_id)
            opened = [e for e in events(self.runtime, run_id, "lock") if e.phase == "open"]
            if run is None or run.status is not RunStatus.AWAITING or not opened:
                return None
            return str(opened[-1].lock_id)

        return wait_until(check, 30, f"run {run_id} to await a lock")

    def answer(self, token: str, run_id: str, lock_id: str, values: Any) -> httpx.Response:
        return self.live.http(token).post(
            f"/api/v1/runs/{run_id}/locks/{lock_id}", json={"values": values}
        )


def _register(live: LiveServer, url: str) -> None:
    token = live.token("operator")
    created = live.http(token).post("/api/v1/services", json={"url": url})
    assert created.status_code == 201
    status_of(live, token, created.json()["id"], "ok")


@pytest.fixture
def setup(hoist_home: Path, runtime: Runtime) -> Iterator[Setup]:
    with running(reviewer(runtime)) as base, hoist_server(hoist_home) as live:
        _register(live, f"{base}/openapi.json")
        yield Setup(live, base, runtime)


def test_the_launcher_answers_through_the_server_and_the_run_goes_on(setup: Setup) -> None:
    live = setup.live
    vera = live.token("viewer", "vera")  # launched it: may answer though only a viewer
    run_id = setup.launch("vera", "viewer")
    lock_id = setup.open_lock(run_id)
    other = live.token("viewer", "victor")
    refused = setup.answer(other, run_id, lock_id, {"text": "mine"})
    assert refused.status_code == 403
    shouted = setup.answer(vera, run_id, lock_id, {"text": "LOUD"})
    assert shouted.status_code == 422
    assert shouted.json()["errors"] == {"text": ["no shouting"]}
    assert shouted.json()["elements"][0]["name"] == "text"
    assert recorded(setup.runtime, run_id).status is RunStatus.AWAITING  # type: ignore[union-attr]
    answered = setup.answer(vera, run_id, lock_id, {"text": "quiet"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    run = ended(setup.runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == {"text": "quiet", "by": "vera"}
    (done,) = [e for e in events(setup.runtime, run_id, "lock") if e.phase == "answered"]
    assert done.user == "vera"
    # Gone now: refused from the store's state, without asking the service.
    again = setup.answer(vera, run_id, lock_id, {"text": "again"})
    assert again.status_code == 409


def test_an_operator_answers_any_run(setup: Setup) -> None:
    run_id = setup.launch("vera", "viewer")
    lock_id = setup.open_lock(run_id)
    olga = setup.live.token("operator", "olga")
    assert setup.answer(olga, run_id, lock_id, {"text": "ok"}).status_code == 200
    assert ended(setup.runtime, run_id).result == {"text": "ok", "by": "olga"}


def test_an_answer_is_only_forwarded_to_an_open_lock_of_a_live_service_run(
    setup: Setup,
) -> None:
    olga = setup.live.token("operator", "olga")
    run_id = setup.launch("vera", "viewer")
    lock_id = setup.open_lock(run_id)
    assert setup.answer(olga, run_id, "nolock", {"text": "x"}).status_code == 404
    assert setup.answer(olga, "nosuchrun", lock_id, {"text": "x"}).status_code == 404
    bad = setup.live.http(olga).post(f"/api/v1/runs/{run_id}/locks/{lock_id}", json={})
    assert bad.status_code == 422  # no values
    bad = setup.live.http(olga).post(f"/api/v1/runs/{run_id}/locks/{lock_id}", json={"values": [1]})
    assert bad.status_code == 422
    assert (
        setup.live.http()
        .post(f"/api/v1/runs/{run_id}/locks/{lock_id}", json={"values": {}})
        .status_code
        == 401
    )
    # An expired lock fails its run: its locks are gone.
    hurried = setup.launch("vera", "viewer", draft="hurry")
    expired = setup.open_lock(hurried)
    assert ended(setup.runtime, hurried).status is RunStatus.FAILED
    gone = setup.answer(olga, hurried, expired, {"text": "late"})
    assert gone.status_code == 409 and "ended" in gone.json()["detail"]
    # A run that is not a service's has no locks.
    body = {"plugin": "text_stats", "action": "word_count", "params": {"text": "a b"}}
    action = setup.live.http(olga).post("/api/v1/runs", json=body)
    assert action.status_code == 202, action.text
    not_a_service = setup.answer(olga, action.json()["run_id"], "any", {})
    assert not_a_service.status_code == 409 and "not a service run" in not_a_service.text
    assert setup.answer(olga, run_id, lock_id, {"text": "done"}).status_code == 200


def test_a_run_of_a_service_not_registered_here_is_not_answered(
    hoist_home: Path, runtime: Runtime
) -> None:
    with running(reviewer(runtime)) as base, hoist_server(hoist_home) as live:
        setup = Setup(live, base, runtime)
        run_id = setup.launch("olga", "operator")
        lock_id = setup.open_lock(run_id)
        olga = live.token("operator", "olga")
        refused = setup.answer(olga, run_id, lock_id, {"text": "hi"})
        assert refused.status_code == 502
        assert "not registered" in refused.json()["detail"]
        _register(live, f"{base}/openapi.json")
        assert setup.answer(olga, run_id, lock_id, {"text": "hi"}).status_code == 200
        assert ended(runtime, run_id).status is RunStatus.SUCCEEDED
