"""Human in the loop on the in-process pool and over HTTP: ``tracer.lock`` puts the run
in ``awaiting`` until an answer (validated by the lock's form and lease) wakes it; an
answer to a gone lock, an expiry, a cancel, another user's answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from hoist import forms as F
from hoist.errors import LockExpiredError, LockNotFoundError
from hoist.forms.errors import InputsError
from hoist.runs.models import Run, RunKind, RunStatus, StatusEvent, new_run_id
from hoist.runs.runtime import Runtime
from hoist.services import Launch, ServeAPI
from hoist.services.execution import Execution
from hoist.services.identity import IDENTITY_HEADER, sign
from hoist.services.locks import LockHandlers
from hoist.services.pool import ServicePool
from hoist.services.tracer import Tracer, TracerMock
from tests.services.conftest import ended, events, recorded
from tests.services.test_app import serving
from tests.waiting import wait_until


def review_form(data: dict[str, Any]) -> F.Model:
    return F.Model(F.InputText("text", "Text", value=data["draft"], required=True), F.Submit("OK"))


def no_shouting(inputs: dict[str, Any], user: str | None) -> dict[str, Any]:
    if inputs["text"].isupper():
        raise InputsError(text="no shouting")
    return {"text": inputs["text"].strip(), "by": user}


def handlers() -> LockHandlers:
    found = LockHandlers()
    found.forms["review"] = review_form
    found.leases["review"] = no_shouting
    return found


async def ask_twice(inputs: dict[str, Any], tracer: Tracer) -> dict[str, Any]:
    first = await tracer.lock("review", data={"draft": inputs["draft"]})
    second = await tracer.lock("review", data={"draft": first["text"] + "!"})
    return {"first": first, "second": second}


async def ask_briefly(inputs: dict[str, Any], tracer: Tracer) -> Any:
    return await tracer.lock("review", data={"draft": "x"}, timeout=0.3)


def ask_sync(inputs: dict[str, Any], tracer: Tracer) -> Any:
    return tracer.lock_sync("review", data={"draft": "sync"})


async def ask_unknown(inputs: dict[str, Any], tracer: Tracer) -> Any:
    return await tracer.lock("reveiw")


def start(pool: ServicePool, entry: Any, inputs: Any = None, user: str | None = None) -> str:
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service",
              meta={"user": user} if user else {})  # fmt: skip
    pool.start(Execution(run, entry, inputs or {}, locks=handlers()))
    return run.id


def open_lock(runtime: Runtime, run_id: str, count: int = 1) -> str:
    """Wait until the run awaits its ``count``-th lock; that lock's id."""

    def check() -> str | None:
        runtime.sink.flush()
        run = recorded(runtime, run_id)
        opened = [e for e in events(runtime, run_id, "lock") if e.phase == "open"]
        if run is None or run.status is not RunStatus.AWAITING or len(opened) < count:
            return None
        return str(opened[count - 1].lock_id)

    return wait_until(check, 30, f"run {run_id} to await lock {count}")


def test_a_lock_awaits_an_answer_and_the_run_goes_on_with_it(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    pool = make_pool()
    run_id = start(pool, ask_twice, {"draft": "hello"}, user="ann")
    lock_id = open_lock(runtime, run_id)
    view = pool.lock_view(run_id, lock_id)
    assert view is not None and view["data"] == {"draft": "hello"} and view["run_user"] == "ann"
    assert view["elements"][0]["name"] == "text" and view["elements"][0]["value"] == "hello"
    assert pool.answer(run_id, lock_id, {"text": " hi "}, "ann").status == "answered"
    assert pool.answer(run_id, lock_id, {"text": "again"}, "ann").status == "gone"
    second = open_lock(runtime, run_id, 2)
    assert second != lock_id
    assert pool.lock_view(run_id, second)["data"] == {"draft": "hi!"}  # type: ignore[index]
    assert pool.answer(run_id, second, {"text": "bye"}, "bob").status == "answered"
    run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == {
        "first": {"text": "hi", "by": "ann"},
        "second": {"text": "bye", "by": "bob"},
    }
    log = events(runtime, run_id)
    moves = [(e.type, getattr(e, "status", None) or getattr(e, "phase", None)) for e in log]
    assert moves[:6] == [("status", "running"), ("lock", "open"), ("status", "awaiting"),
                         ("lock", "answered"), ("status", "running"), ("lock", "open")]  # fmt: skip
    answered = [e for e in log if e.type == "lock" and e.phase == "answered"]
    assert [(e.user, e.answer) for e in answered] == [
        ("ann", {"text": "hi", "by": "ann"}), ("bob", {"text": "bye", "by": "bob"})
    ]  # fmt: skip
    assert run.started_at == next(e.ts for e in log if isinstance(e, StatusEvent))


def test_an_invalid_answer_keeps_the_lock_open(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    pool = make_pool()
    run_id = start(pool, ask_sync)
    lock_id = open_lock(runtime, run_id)
    refused = pool.answer(run_id, lock_id, {"text": "LOUD"}, None)
    assert refused.status == "errors" and refused.errors == {"text": ["no shouting"]}
    assert refused.elements[0]["name"] == "text"
    missing = pool.answer(run_id, lock_id, {}, None)
    assert missing.status == "errors" and "text" in missing.errors
    assert pool.answer(run_id, lock_id, ["not", "a", "dict"], None).status == "errors"
    assert recorded(runtime, run_id).status is RunStatus.AWAITING  # type: ignore[union-attr]
    assert pool.answer(run_id, lock_id, {"text": "quiet"}, None).status == "answered"
    run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED and run.result == {"text": "quiet", "by": None}


def test_an_expired_lock_fails_the_run(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    pool = make_pool()
    run_id = start(pool, ask_briefly)
    run = ended(runtime, run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["type"].endswith("LockExpiredError")
    assert "lock 'review'" in run.error["message"] and "0.3 s" in run.error["message"]
    phases = [e.phase for e in events(runtime, run_id, "lock")]
    assert phases == ["open", "expired"]
    lock_id = events(runtime, run_id, "lock")[0].lock_id
    assert pool.answer(run_id, lock_id, {"text": "late"}, None).status == "gone"
    assert LockExpiredError("r", "n", 2).timeout == 2


def test_cancel_while_awaiting(runtime: Runtime, make_pool: Callable[..., ServicePool]) -> None:
    pool = make_pool()
    run_id = start(pool, ask_twice, {"draft": "d"})
    sync_id = start(pool, ask_sync)
    lock_id = open_lock(runtime, run_id)
    sync_lock = open_lock(runtime, sync_id)
    assert pool.cancel(run_id) and pool.cancel(sync_id)
    for rid, lid in ((run_id, lock_id), (sync_id, sync_lock)):
        assert ended(runtime, rid).status is RunStatus.CANCELLED
        assert [e.phase for e in events(runtime, rid, "lock")] == ["open", "cancelled"]
        assert pool.answer(rid, lid, {"text": "late"}, None).status == "gone"
    wait_until(lambda: pool.active == 0, what="the cancelled executions to end")


def test_a_lock_without_a_form_fails_the_run_naming_it(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    run = ended(runtime, start(make_pool(), ask_unknown))
    assert run.status is RunStatus.FAILED and run.error is not None
    assert "unknown lock 'reveiw'" in run.error["message"]
    assert "did you mean 'review'" in run.error["message"]


def test_tracer_mock_answers_locks() -> None:
    tracer = TracerMock(answers={"review": {"text": "ok"}})
    assert tracer.lock_sync("review", data={"draft": "d"}) == {"text": "ok"}
    assert tracer.locks == [{"name": "review", "data": {"draft": "d"}, "timeout": None}]
    with pytest.raises(LockNotFoundError, match="did you mean 'review'"):
        tracer.lock_sync("reviw")


def test_a_lock_timeout_must_be_positive(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    async def bad(inputs: Any, tracer: Tracer) -> Any:
        return await tracer.lock("review", data={"draft": "x"}, timeout=0)

    run = ended(runtime, start(make_pool(), bad))
    assert run.status is RunStatus.FAILED and "timeout must be > 0" in run.error["message"]  # type: ignore[index]


def test_a_thousand_awaiting_executions_hold_no_threads(
    runtime: Runtime, make_pool: Callable[..., ServicePool]
) -> None:
    runtime.sink  # noqa: B018 - its writer thread exists before the count
    # Parked executions give their running slot back: 8 slots hold 1000 waits.
    pool = make_pool(max_concurrency=8, max_queued=1000)
    before = threading.active_count()
    ids = [start(pool, ask_twice, {"draft": str(i)}) for i in range(1000)]

    def all_awaiting() -> bool:
        runtime.sink.flush()
        runs = runtime.store.runs_by_ids(ids)
        return sum(r.status is RunStatus.AWAITING for r in runs) == 1000

    wait_until(all_awaiting, 120, "1000 executions awaiting")
    assert threading.active_count() <= before + 2  # the pool's loop and flusher
    for run_id in ids:
        cancelled = pool.cancel(run_id)
        assert cancelled
    wait_until(lambda: pool.active == 0, 60, "all executions to end")


# ---------------------------------------------------------------------- over HTTP
def build_app(runtime: Runtime, **options: Any) -> ServeAPI:
    app = ServeAPI(runtime=runtime, **options)

    @app.enter("/", model=F.Model(F.InputText("draft", "Draft"), F.Submit("Go")))
    async def enter(request: Any, inputs: dict[str, Any]) -> Any:
        return Launch(request, ask_twice, inputs=inputs)

    app.lock("review")(review_form)
    app.lease("review")(no_shouting)
    return app


def lock_path(run_id: str, lock_id: str) -> str:
    return f"/-/hoist/runs/{run_id}/locks/{lock_id}"


def test_answering_over_http(runtime: Runtime) -> None:
    app = build_app(runtime)
    with serving(app) as client:
        launched = client.post("/", json={"draft": "first"})
        assert launched.status_code == 202
        run_id = launched.json()["run_id"]
        lock_id = open_lock(runtime, run_id)
        shown = client.get(lock_path(run_id, lock_id))
        assert shown.status_code == 200
        assert shown.json()["data"] == {"draft": "first"} and shown.json()["phase"] == "open"
        assert "run_user" not in shown.json()
        refused = client.post(lock_path(run_id, lock_id), json={"values": {"text": "NO"}})
        assert refused.status_code == 422
        assert refused.json()["errors"] == {"text": ["no shouting"]}
        assert refused.json()["elements"][0]["name"] == "text"
        bad = client.post(lock_path(run_id, lock_id), json=["values"])
        assert bad.status_code == 422 and "_global_" in bad.json()["errors"]
        ok = client.post(lock_path(run_id, lock_id), json={"values": {"text": "yes"}})
        assert ok.status_code == 200 and ok.json() == {"status": "answered"}
        gone = client.post(lock_path(run_id, lock_id), json={"values": {"text": "yes"}})
        assert gone.status_code == 409
        assert client.get(lock_path("nope", lock_id)).status_code == 404
        assert client.post(lock_path("nope", "nope"), json={"values": {}}).status_code == 409
        second = open_lock(runtime, run_id, 2)
        assert (
            client.post(lock_path(run_id, second), json={"values": {"text": "b"}}).status_code
            == 200
        )
        assert ended(runtime, run_id).result["second"] == {"text": "b", "by": None}
        schema = client.get("/openapi.json").json()
        assert not any(path.startswith("/-/hoist/") for path in schema["paths"])


def test_only_the_launching_user_or_an_operator_may_answer(runtime: Runtime) -> None:
    secret = "s3cret"
    app = build_app(runtime, secret=secret)

    def who(user: str, role: str = "viewer") -> dict[str, str]:
        return {IDENTITY_HEADER: sign(secret, user, role)}

    with serving(app) as client:
        launched = client.post("/", json={"draft": "d"}, headers=who("ann"))
        assert launched.status_code == 202
        run_id = launched.json()["run_id"]
        lock_id = open_lock(runtime, run_id)
        assert recorded(runtime, run_id).meta.get("user") == "ann"  # type: ignore[union-attr]
        path = lock_path(run_id, lock_id)
        answer = {"values": {"text": "fine"}}
        assert client.post(path, json=answer).status_code == 401
        assert (
            client.post(path, json=answer, headers={IDENTITY_HEADER: "forged.00"}).status_code
            == 401
        )
        assert client.get(path, headers=who("bob")).status_code == 403
        assert client.post(path, json=answer, headers=who("bob")).status_code == 403
        assert client.get(path, headers=who("ann")).status_code == 200
        assert client.post(path, json=answer, headers=who("ann")).status_code == 200
        second = open_lock(runtime, run_id, 2)
        by_operator = client.post(lock_path(run_id, second), json=answer,
                                  headers=who("olga", "operator"))  # fmt: skip
        assert by_operator.status_code == 200
        run = ended(runtime, run_id)
        assert run.result == {"first": {"text": "fine", "by": "ann"},
                              "second": {"text": "fine", "by": "olga"}}  # fmt: skip


def test_an_awaiting_run_whose_worker_died_is_lost(runtime: Runtime) -> None:
    store = runtime.store
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, status=RunStatus.AWAITING,
              heartbeat_at=time.time() - 100)  # fmt: skip
    store.write_batch([run], [])
    assert store.reap_stale(15.0) == [run.id]
    assert store.get_run(run.id).status is RunStatus.LOST
    assert run.id not in store.active_runs()
