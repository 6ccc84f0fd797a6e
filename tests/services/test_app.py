"""``ServeAPI`` and ``@app.enter`` in-process (the real app through Starlette's test
client, the real pool, the test's SQLite store): the form, server-side validation and
coercion of JSON bodies and form posts, 422/500 answers that launch nothing, the OpenAPI
document (a deprecated endpoint too), handler signatures, the public exports, the pool's
life with the app's, and the executor the app builds: in-process, or a warm Ray actor
pool when a Ray cluster is configured (the session's private cluster)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import fastapi
import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from pydantic import BaseModel, Field, SecretStr

import hoist.forms
import hoist.services
from hoist.errors import ServiceBusyError
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import Runtime, configure
from hoist.services import InputsError, Launch, ServeAPI
from hoist.services import forms as F
from hoist.services.execution import Execution
from hoist.services.forms_io import MASK, elements_from_json
from hoist.services.pool import ServicePool
from hoist.settings import Settings
from tests.services.conftest import ended, recorded
from tests.waiting import wait_until

FORM = F.Model(
    F.Markdown("# Adder\nAdds two numbers."),
    F.Errors(),
    F.InputNumber("a", "A", required=True, integer=True, min_value=0),
    F.InputNumber("b", "B", value=1, integer=True),
    F.Checkbox("loud", "Loud", option="shout the answer"),
    F.InputPassword("api_key", "API key"),
    F.Submit("Add"),
    F.Cancel("Cancel"),
)

SEEN: list[Any] = []


class AppClient:
    """Sync calls into an ASGI app that runs (with its lifespan) on a portal's loop.

    (Starlette's TestClient warns that it is deprecated with httpx; this is the same idea.)
    """

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self.portal, self.client = portal, client

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.portal.call(partial(self.client.get, url, **options))

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.portal.call(partial(self.client.post, url, **options))


@contextlib.contextmanager
def serving(app: fastapi.FastAPI) -> Iterator[AppClient]:
    """The app started (lifespan) until the block ends, and a client of it."""
    with contextlib.ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://service")
        try:
            yield AppClient(portal, client)
        finally:
            portal.call(client.aclose)


def add(inputs: dict[str, Any]) -> dict[str, Any]:
    """The entry point: a sync function receiving inputs by name."""
    SEEN.append(inputs)
    total = inputs["a"] + inputs["b"]
    return {"total": total, "loud": inputs["loud"]}


def build_app(runtime: Runtime, **options: Any) -> ServeAPI:
    app = ServeAPI(runtime=runtime, **options)

    @app.enter(
        "/add", model=FORM, summary="Adder", description="Adds.", tags=["math"],
        version="1.2.0", author="me@example.org", organization="Hoist",
    )  # fmt: skip
    async def enter(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        error = InputsError()
        if inputs["a"] == 13:
            error.add(a="13 is unlucky")
            error.add(_global_="try another number")
        if error.has_errors():
            raise error
        if inputs["a"] == 666:
            raise ValueError("the handler broke")
        return Launch(request, add, inputs=inputs, reference="ref-1")

    return app


def running(runtime: Runtime, run_id: str) -> bool:
    run = recorded(runtime, run_id)
    return run is not None and run.status == RunStatus.RUNNING


def nothing_recorded(runtime: Runtime) -> bool:
    runtime.sink.flush()  # what was handed to the sink is in the store
    return runtime.store.list_runs() == []


@pytest.fixture
def client(runtime: Runtime) -> Iterator[AppClient]:
    SEEN.clear()
    with serving(build_app(runtime)) as test_client:
        yield test_client


def test_get_answers_the_form(client: AppClient) -> None:
    answer = client.get("/add")
    assert answer.status_code == 200
    body = answer.json()
    kinds = [e["type"] for e in body["elements"]]
    assert kinds == [
        "markdown", "errors", "integer", "integer", "checkbox", "password", "submit", "cancel",
    ]  # fmt: skip
    number = body["elements"][3]
    assert number["name"] == "b" and number["value"] == 1 and number["integer"] is True
    assert body["schema"]["properties"]["a"]["type"] == "integer"
    assert body["schema"]["required"] == ["a"]
    # The elements round-trip: the panel can rebuild and validate the same form.
    rebuilt = F.Model(*elements_from_json(body["elements"]))
    assert rebuilt.validate({"a": 2}) == FORM.validate({"a": 2})


def test_post_json_launches_a_service_run(client: AppClient, runtime: Runtime) -> None:
    answer = client.post("/add", json={"a": 2, "b": 3, "loud": True, "api_key": "s3cret"})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "queued" and body["fid"] == body["run_id"]
    assert body["url"] == f"/runs/{body['run_id']}"
    assert answer.headers["location"] == body["url"]
    run = ended(runtime, body["run_id"])
    assert run.status == RunStatus.SUCCEEDED
    assert run.result == {"total": 5, "loud": True}
    assert run.kind == "service" and run.mode == "service" and run.action == "Adder"
    assert run.params["api_key"] == MASK and run.params["a"] == 2
    assert SEEN[0]["api_key"] == "s3cret"  # the entry point gets the secret itself
    service = run.meta["service"]
    assert service["entry"] == "/add" and service["path"] == "/add"
    assert service["version"] == "1.2.0" and service["author"] == "me@example.org"
    assert service["tags"] == ["math"] and service["organization"] == "Hoist"
    assert service["entry_point"].endswith("add")
    assert run.meta["reference"] == "ref-1"
    assert "user" not in run.meta


def test_form_post_is_coerced(client: AppClient, runtime: Runtime) -> None:
    answer = client.post("/add", data={"a": "4", "b": " 5 ", "loud": "on", "api_key": ""})
    assert answer.status_code == 202, answer.text
    run = ended(runtime, answer.json()["run_id"])
    assert run.result == {"total": 9, "loud": True}
    assert SEEN[0]["a"] == 4 and isinstance(SEEN[0]["a"], int)
    # An unchecked checkbox is absent from a form post: False.
    answer = client.post("/add", data={"a": "4"})
    assert ended(runtime, answer.json()["run_id"]).result == {"total": 5, "loud": False}


def test_multipart_form_post(client: AppClient, runtime: Runtime) -> None:
    answer = client.post("/add", data={"a": "1", "loud": "true"}, files={"unused": ("x", b"")})
    assert answer.status_code == 202, answer.text
    assert ended(runtime, answer.json()["run_id"]).result == {"total": 2, "loud": True}


def test_invalid_inputs_answer_422_and_launch_nothing(client: AppClient, runtime: Runtime) -> None:
    answer = client.post("/add", json={"a": -1, "b": "many"})
    assert answer.status_code == 422
    body = answer.json()
    assert set(body["errors"]) == {"a", "b"}
    assert [e["type"] for e in body["elements"]][:3] == ["markdown", "errors", "integer"]
    answer = client.post("/add", json={"b": 1})
    assert answer.json()["errors"] == {"a": ["field required"]}
    assert nothing_recorded(runtime)


def test_handler_inputs_error_has_field_and_global_messages(
    client: AppClient, runtime: Runtime
) -> None:
    answer = client.post("/add", json={"a": 13})
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"a": ["13 is unlucky"], "_global_": ["try another number"]}
    assert nothing_recorded(runtime)


def test_bad_bodies_answer_422(client: AppClient) -> None:
    answer = client.post("/add", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert "not valid JSON" in answer.json()["errors"]["_global_"][0]
    answer = client.post("/add", json=[1, 2])
    assert answer.status_code == 422
    assert "JSON object" in answer.json()["errors"]["_global_"][0]


def test_handler_exception_answers_500_and_the_app_lives_on(
    client: AppClient, runtime: Runtime
) -> None:
    answer = client.post("/add", json={"a": 666})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "ValueError: the handler broke"}
    assert nothing_recorded(runtime)
    assert client.post("/add", json={"a": 1}).status_code == 202


def test_openapi_has_request_schema_and_x_hoist(client: AppClient) -> None:
    document = client.get("/openapi.json").json()
    post = document["paths"]["/add"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["a"]["type"] == "integer"
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert post["x-hoist"] == {
        "summary": "Adder", "description": "Adds.", "author": "me@example.org",
        "version": "1.2.0", "organization": "Hoist", "tags": ["math"], "entry": "/add",
    }  # fmt: skip
    assert post["summary"] == "Adder" and post["tags"] == ["math"]
    assert {"202", "422", "429", "500"} <= set(post["responses"])
    get = document["paths"]["/add"]["get"]
    form = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(form["properties"]) == {"elements", "schema"}


class Inner(BaseModel):
    depth: int = Field(2, ge=1)


class Params(BaseModel):
    prompt: str
    token: SecretStr
    inner: Inner = Inner()


def echo(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"prompt": inputs["prompt"], "depth": inputs["inner"]["depth"]}


def test_pydantic_model_form(runtime: Runtime) -> None:
    app = ServeAPI(runtime=runtime, title="Echo service")

    @app.enter("/", model=Params, summary="Echo")
    def enter(inputs: dict[str, Any], request: fastapi.Request) -> Any:  # sync, any order
        return Launch(request, echo, inputs=inputs)

    with serving(app) as client:
        form = client.get("/").json()
        assert [e["type"] for e in form["elements"]] == [
            "errors", "text", "password", "fieldset", "submit",
        ]  # fmt: skip
        answer = client.post("/", json={"prompt": "hi", "token": "t0k", "inner": {"depth": 3}})
        assert answer.status_code == 202, answer.text
        run = ended(runtime, answer.json()["run_id"])
        assert run.result == {"prompt": "hi", "depth": 3}
        assert run.params == {"prompt": "hi", "token": MASK, "inner": {"depth": 3}}
        assert run.plugin == "Echo service"
        bad = client.post("/", data={"prompt": "x", "token": "y", "inner.depth": "0"})
        assert bad.status_code == 422 and list(bad.json()["errors"]) == ["inner.depth"]
        document = client.get("/openapi.json").json()
    schema = document["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]
    ref = schema["schema"]["properties"]["inner"]["$ref"]
    assert ref == "#/components/schemas/Inner"
    assert document["components"]["schemas"]["Inner"]["properties"]["depth"]["minimum"] == 1


def test_handler_may_return_data_or_take_nothing(runtime: Runtime) -> None:
    app = ServeAPI(runtime=runtime)

    @app.enter("/", model=F.Model(F.InputText("name")))
    async def enter() -> dict[str, str]:
        return {"hello": "world"}

    with serving(app) as client:
        assert client.post("/", json={}).json() == {"hello": "world"}
    assert app.service_name == __name__  # the module of the first enter handler


def test_enter_refuses_bad_definitions(runtime: Runtime) -> None:
    app = ServeAPI(runtime=runtime)
    with pytest.raises(TypeError, match="'user'"):

        @app.enter("/", model=FORM)
        async def enter(request: fastapi.Request, user: str) -> None: ...

    with pytest.raises(TypeError, match="forms model"):
        app.enter("/", model={"a": 1})


async def block(inputs: dict[str, Any]) -> None:
    await asyncio.sleep(60)


def test_shutdown_closes_the_pool(runtime: Runtime) -> None:
    app = ServeAPI(runtime=runtime)

    @app.post("/go")
    async def go(request: fastapi.Request) -> Any:
        return Launch(request, block)

    with serving(app) as client:
        run_id = client.post("/go").json()["run_id"]
        wait_until(lambda: running(runtime, run_id), what="the run to start")
    # The app's shutdown closed its pool: what ran is cancelled, not left running.
    assert ended(runtime, run_id).status == RunStatus.CANCELLED
    with serving(app) as client:  # a later start builds a new pool
        again = client.post("/go").json()["run_id"]
        wait_until(lambda: running(runtime, again), what="the run to start")
    assert ended(runtime, again).status == RunStatus.CANCELLED


def test_a_deprecated_endpoint_says_so_and_still_launches(runtime: Runtime) -> None:
    app = ServeAPI(runtime=runtime)

    @app.enter("/old", model=FORM, summary="Old adder", deprecated=True)
    async def old(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, add, inputs=inputs)

    @app.enter("/new", model=FORM, summary="New adder")
    async def new(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, add, inputs=inputs)

    with serving(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
        answer = client.post("/old", json={"a": 1, "b": 2})
        assert answer.status_code == 202, answer.text
        run = ended(runtime, answer.json()["run_id"])
    assert paths["/old"]["post"]["deprecated"] is True
    assert paths["/old"]["get"]["deprecated"] is True  # its form too
    assert paths["/old"]["post"]["x-hoist"]["deprecated"] is True  # for discovery
    assert "deprecated" not in paths["/new"]["post"]
    assert "deprecated" not in paths["/new"]["post"]["x-hoist"]
    assert run.status == RunStatus.SUCCEEDED and run.result == {"total": 3, "loud": False}
    assert run.meta["service"]["deprecated"] is True


def test_the_default_executor_is_the_in_process_pool(runtime: Runtime) -> None:
    app = ServeAPI(runtime=runtime, max_concurrency=3, max_queued=5)
    try:
        pool = app.service_executor()
        assert isinstance(pool, ServicePool) and pool is app.service_executor()
        assert (pool.max_concurrency, pool.max_queued) == (3, 5)
    finally:
        app.close()


def test_an_executor_given_wins_over_a_configured_ray_cluster(hoist_home: Path) -> None:
    # Nothing connects: the given executor is used as it is.
    runtime = configure(Settings(home=hoist_home, ray_address="127.0.0.1:1"))
    given = ServicePool(runtime=runtime)
    try:
        assert ServeAPI(runtime=runtime, executor=given).service_executor() is given
    finally:
        given.close()


async def where_am_i(inputs: dict[str, Any], tracer: Any) -> dict[str, int]:
    """Run by name in a Ray actor (the workers share this checkout's ``sys.path``)."""
    await tracer.markdown(f"hello {inputs['who']}")
    return {"pid": os.getpid()}


def test_a_configured_ray_cluster_runs_launches_on_a_warm_actor_pool(
    ray_cluster: Any, hoist_home: Path
) -> None:
    from hoist.services.ray_pool import RayServicePool

    runtime = configure(Settings(home=hoist_home, ray_address=ray_cluster.address))
    app = ServeAPI(runtime=runtime, max_concurrency=4, max_queued=2)

    @app.post("/go")
    async def go(request: fastapi.Request) -> Any:
        return Launch(request, f"{__name__}:where_am_i", inputs={"who": "ann"})

    with serving(app) as client:
        ids = [client.post("/go").json()["run_id"] for _ in range(3)]
        pool = app.service_executor()
        assert isinstance(pool, RayServicePool)
        assert (pool.max_concurrency, pool.max_queued, pool.name) == (4, 2, app.service_name)
        runs = [ended(runtime, run_id, 60) for run_id in ids]  # an actor may be starting
        assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 3, [r.error for r in runs]
        (actor_pid,) = pool.warm()  # the one warm actor, started by the first launch
        assert {r.result["pid"] for r in runs} == {actor_pid} != {os.getpid()}
        outputs = [e.body for e in runtime.store.events(ids[0]) if e.type == "output"]
        assert outputs == ["hello ann"]
    # The app's shutdown closed the pool it built: it admits nothing more.
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service")
    with pytest.raises(ServiceBusyError):
        pool.start(Execution(run, f"{__name__}:where_am_i", {"who": "bob"}))


def test_an_app_inside_a_ray_actor_runs_in_process_whatever_the_settings(
    ray_cluster: Any, hoist_home: Path
) -> None:
    """A Ray Serve replica is a Ray actor: its app executes in the replica (Serve's
    replicas are its warm pool) even with a Ray address configured, instead of starting
    actors of its own (which a replica started on a differently written address could
    not even connect)."""
    import ray
    from hoist.executors.ray.connect import ensure_ray

    ensure_ray(ray_cluster.address)

    @ray.remote(num_cpus=0)
    class Replica:
        def executor_kind(self, home: str, address: str) -> str:
            runtime = Runtime(Settings(home=Path(home), ray_address=address))
            app = ServeAPI(runtime=runtime)
            try:
                return type(app.service_executor()).__name__
            finally:
                app.close()

    replica = Replica.remote()  # type: ignore[attr-defined]
    try:
        kind = ray.get(replica.executor_kind.remote(str(hoist_home), ray_cluster.address))
    finally:
        ray.kill(replica)
    assert kind == ServicePool.__name__


def test_public_exports() -> None:
    for name in hoist.services.__all__:
        assert getattr(hoist.services, name) is not None, name
    assert hoist.services.forms is hoist.forms
    assert hoist.services.response.Markdown(body="x").body == "x"
    assert hoist.services.InputsError is hoist.forms.InputsError
    with pytest.raises(AttributeError, match="no_such"):
        hoist.services.no_such  # noqa: B018


def test_import_hoist_does_not_import_services() -> None:
    code = "import sys, hoist; print([m for m in sys.modules if m.startswith('hoist.services')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
