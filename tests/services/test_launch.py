"""``Launch``: the run it records (kind, metadata from the route, masked secrets), an
unknown entry point and a full queue answered at once with nothing recorded, an action's
inputs validated, and Launch in a plain route of a ``ServeAPI``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import fastapi
import pytest
from pydantic import BaseModel, Field, SecretStr

from hoist.plugins.action import BaseAction
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import Launch, ServeAPI, Tracer
from hoist.services import forms as F
from hoist.services.forms_io import MASK
from tests.services.conftest import ended
from tests.services.test_app import AppClient, nothing_recorded, running, serving
from tests.waiting import wait_until

GATES: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}


async def wait_for_gate(inputs: dict[str, Any], tracer: Tracer) -> str:
    """Blocks until the test opens its gate (an event on the pool's loop)."""
    gate = asyncio.Event()
    GATES[tracer.fid] = (asyncio.get_running_loop(), gate)
    await gate.wait()
    return "opened"


async def hello(inputs: dict[str, Any], tracer: Tracer) -> str:
    await tracer.markdown(f"hello **{inputs.get('name', 'you')}**")
    return f"hi {inputs.get('name', 'you')}"


class Count(BaseModel):
    n: int = Field(ge=1)


class CountAction(BaseAction[Count]):
    """Counts to n."""

    def execute(self) -> int:
        return self.params.n


def build_app(runtime: Runtime, **options: Any) -> ServeAPI:
    app = ServeAPI(runtime=runtime, name="launcher", **options)

    @app.post("/plain", summary="Plain launch", tags=["plain"])
    async def plain(request: fastapi.Request) -> Any:
        body = await request.json()
        return Launch(
            request, body["entry"], inputs=body.get("inputs"),
            reference=body.get("reference"), summary=body.get("summary"),
            description=body.get("description"),
        )  # fmt: skip

    @app.post("/gated")
    async def gated(request: fastapi.Request) -> Any:
        return Launch(request, wait_for_gate)

    @app.post("/secret")
    async def secret(request: fastapi.Request) -> Any:
        class Login(BaseModel):
            user: str
            password: SecretStr

        return Launch(request, hello, inputs=Login(user="ann", password=SecretStr("pw")))

    @app.enter("/form", model=F.Model(F.InputText("name"), F.InputPassword("pin")))
    async def enter(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, hello, inputs=inputs)

    return app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[AppClient]:
    with serving(build_app(runtime)) as test_client:
        yield test_client


def test_plain_route_launch_records_route_metadata(client: AppClient, runtime: Runtime) -> None:
    answer = client.post(
        "/plain",
        json={
            "entry": "tests.services.test_launch:hello", "inputs": {"name": "Bo"},
            "reference": "r-9", "summary": "this one", "description": "for a test",
        },
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    run = ended(runtime, answer.json()["run_id"])
    assert run.status == RunStatus.SUCCEEDED and run.result == "hi Bo"
    assert run.plugin == "launcher" and run.action == "Plain launch"
    assert run.meta["service"]["tags"] == ["plain"] and run.meta["service"]["path"] == "/plain"
    assert run.meta["service"]["entry_point"] == "tests.services.test_launch:hello"
    assert run.meta["reference"] == "r-9"
    assert run.meta["summary"] == "this one" and run.meta["description"] == "for a test"
    outputs = [e for e in runtime.store.events(run.id) if e.type == "output"]
    assert outputs[0].body == "hello **Bo**"


def test_the_run_is_in_the_store_when_the_202_arrives(client: AppClient, runtime: Runtime) -> None:
    # Whoever follows the answer's url, or asks for the id, at once finds the run (the
    # panel redirects to it straight away): no wait, no retry.
    for _ in range(20):
        answer = client.post("/gated")
        assert answer.status_code == 202
        assert runtime.store.get_run(answer.json()["run_id"]).status in (
            RunStatus.QUEUED, RunStatus.RUNNING
        )  # fmt: skip


def test_dotted_entry_point(client: AppClient, runtime: Runtime) -> None:
    answer = client.post("/plain", json={"entry": "tests.services.test_launch.hello"})
    assert answer.status_code == 202, answer.text
    assert ended(runtime, answer.json()["run_id"]).result == "hi you"


@pytest.mark.parametrize(
    "entry",
    ["tests.services.no_such_module:execute", "tests.services.test_launch:missing", "nothing"],
)
def test_unknown_entry_point_answers_500_and_records_nothing(
    client: AppClient, runtime: Runtime, entry: str
) -> None:
    answer = client.post("/plain", json={"entry": entry})
    assert answer.status_code == 500
    body = answer.json()
    assert body["entry_point"] == entry and body["reason"]
    assert entry in body["detail"]
    assert nothing_recorded(runtime)


def test_secrets_are_masked(client: AppClient, runtime: Runtime) -> None:
    run_id = client.post("/secret").json()["run_id"]
    run = ended(runtime, run_id)
    assert run.params == {"user": "ann", "password": MASK}
    run_id = client.post("/form", json={"name": "x", "pin": "1234"}).json()["run_id"]
    assert ended(runtime, run_id).params == {"name": "x", "pin": MASK}


def test_action_entry_point_inputs_are_validated(client: AppClient, runtime: Runtime) -> None:
    entry = "tests.services.test_launch:CountAction"
    answer = client.post("/plain", json={"entry": entry, "inputs": {"n": 0}})
    assert answer.status_code == 422
    assert list(answer.json()["errors"]) == ["n"]
    assert nothing_recorded(runtime)
    answer = client.post("/plain", json={"entry": entry, "inputs": {"n": 3}})
    assert answer.status_code == 202, answer.text
    assert ended(runtime, answer.json()["run_id"]).result == 3


def test_full_queue_answers_429_and_records_nothing(runtime: Runtime) -> None:
    app = build_app(runtime, max_concurrency=1, max_queued=1)
    with serving(app) as client:
        first = client.post("/gated").json()["run_id"]
        wait_until(lambda: running(runtime, first), what="the run to start")
        second = client.post("/gated").json()["run_id"]
        busy = client.post("/gated")
        assert busy.status_code == 429
        assert int(busy.headers["retry-after"]) >= 1
        assert "busy" in busy.json()["detail"]
        wait_until(lambda: len(runtime.store.list_runs()) == 2, what="two runs recorded")
        for run_id in (first, second):
            # Open each gate on the loop that waits on it.
            loop, gate = wait_until(lambda run_id=run_id: GATES.get(run_id), what="the gate")
            loop.call_soon_threadsafe(gate.set)
            assert ended(runtime, run_id).result == "opened"
    assert {r.id for r in runtime.store.list_runs()} == {first, second}


def test_launch_needs_a_serve_api(runtime: Runtime) -> None:
    app = fastapi.FastAPI()

    @app.post("/")
    async def go(request: fastapi.Request) -> Any:
        return Launch(request, hello)

    with serving(app) as client, pytest.raises(TypeError, match="ServeAPI"):
        client.post("/")
