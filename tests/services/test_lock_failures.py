"""A lease that fails with something else than ``InputsError`` (a bug in the service)
answers the same 500 JSON in-process and on Ray, and the lock stays open; a lock that
has closed is still shown at its URL, from the run's stored lock events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hoist import forms as F
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import Launch, ServeAPI
from hoist.services.identity import IDENTITY_HEADER, sign
from tests.services.conftest import ended
from tests.services.test_app import serving
from tests.services.test_locks import ask_twice, lock_path, open_lock, review_form
from tests.waiting import wait_until


def buggy_lease(inputs: dict[str, Any]) -> dict[str, Any]:
    if inputs["text"] == "boom":
        raise KeyError("no such draft")
    return inputs


def build_app(runtime: Runtime, **options: Any) -> ServeAPI:
    app = ServeAPI(runtime=runtime, **options)

    @app.enter("/", model=F.Model(F.InputText("draft", "Draft"), F.Submit("Go")))
    async def enter(request: Any, inputs: dict[str, Any]) -> Any:
        return Launch(request, ask_twice, inputs=inputs)

    app.lock("review")(review_form)
    app.lease("review")(buggy_lease)
    return app


def failing_lease_answers_500(runtime: Runtime, app: ServeAPI, timeout: float = 30) -> None:
    with serving(app) as client:
        run_id = client.post("/", json={"draft": "d"}).json()["run_id"]
        lock_id = open_lock(runtime, run_id)
        failed = client.post(lock_path(run_id, lock_id), json={"values": {"text": "boom"}})
        assert failed.status_code == 500
        body = failed.json()
        assert body["error"] == {"type": "KeyError", "message": "'no such draft'"}
        assert "KeyError" in body["detail"] and "lease" in body["detail"]
        # The lock stays open: shown, and a good answer still goes through.
        shown = client.get(lock_path(run_id, lock_id))
        assert shown.status_code == 200 and shown.json()["phase"] == "open"
        assert recorded_status(runtime, run_id) is RunStatus.AWAITING
        ok = client.post(lock_path(run_id, lock_id), json={"values": {"text": "fine"}})
        assert ok.status_code == 200
        second = open_lock(runtime, run_id, 2)
        assert client.post(lock_path(run_id, second), json={"values": {"text": "b"}}).is_success
        # Wait inside: leaving ``serving`` shuts the app down, cancelling what still runs.
        assert ended(runtime, run_id, timeout).status is RunStatus.SUCCEEDED


def recorded_status(runtime: Runtime, run_id: str) -> RunStatus:
    runtime.sink.flush()
    return runtime.store.get_run(run_id).status


def test_a_failing_lease_answers_500_in_process(runtime: Runtime) -> None:
    failing_lease_answers_500(runtime, build_app(runtime))


@pytest.fixture
def ray_pool(ray_cluster: Any, runtime: Runtime) -> Iterator[Any]:
    from hoist.services.ray_pool import RayServicePool

    pool = RayServicePool(runtime, address=ray_cluster.address)
    yield pool
    pool.close()


def test_a_failing_lease_answers_the_same_500_on_ray(ray_pool: Any, runtime: Runtime) -> None:
    failing_lease_answers_500(runtime, build_app(runtime, executor=ray_pool), timeout=60)


def test_an_answered_lock_is_shown_from_the_stored_events(runtime: Runtime) -> None:
    app = build_app(runtime, secret="s3cret")

    def who(user: str, role: str, run: str | None) -> dict[str, str]:
        return {IDENTITY_HEADER: sign("s3cret", user, role, run=run)}

    with serving(app) as client:
        launched = client.post("/", json={"draft": "d"}, headers=who("ann", "viewer", None))
        run_id = launched.json()["run_id"]
        lock_id = open_lock(runtime, run_id)
        ann = who("ann", "viewer", run_id)
        assert client.post(lock_path(run_id, lock_id), json={"values": {"text": "yes"}},
                           headers=ann).status_code == 200  # fmt: skip

        def answered() -> dict[str, Any] | None:
            runtime.sink.flush()
            shown = client.get(lock_path(run_id, lock_id), headers=ann)
            body: dict[str, Any] = shown.json()
            return body if shown.status_code == 200 and body["phase"] == "answered" else None

        body = wait_until(answered, 30, "the answered lock to be shown")
        assert body["user"] == "ann" and body["name"] == "review"
        assert isinstance(body["ended_at"], float) and "run_user" not in body
        assert "elements" not in body  # nothing to answer any more
        # Still only for the launcher or an operator, and a lock the run never had is 404.
        other = client.get(lock_path(run_id, lock_id), headers=who("bob", "viewer", run_id))
        assert other.status_code == 403
        olga = who("olga", "operator", run_id)
        assert client.get(lock_path(run_id, lock_id), headers=olga).status_code == 200
        assert client.get(lock_path(run_id, "nolock"), headers=olga).status_code == 404
        assert client.post(lock_path(run_id, lock_id), json={"values": {"text": "again"}},
                           headers=ann).status_code == 409  # fmt: skip
        second = open_lock(runtime, run_id, 2)
        client.post(lock_path(run_id, second), json={"values": {"text": "b"}}, headers=ann)
        assert ended(runtime, run_id).status is RunStatus.SUCCEEDED
