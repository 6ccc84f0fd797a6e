"""kodosumi's ``my_service`` (``examples/my_service``: the seed's ``calc.py`` and
``app.py`` with only their import lines changed) run as the seed runs it, on the test's
private Ray:

(a) ``hoist service run my_service.app:app`` (uvicorn, the in-process pool), its entry
    point fanning ``calculate.remote`` out on the cluster (``RAY_ADDRESS``);
(b) ``serve run my_service.app:fast_app`` (a Ray Serve ingress, Serve's HTTP proxy on a
    free loopback port), the replica recording its runs in the same store
    (``HOIST_HOME`` in the runtime environment);

and a kodosumi-style service whose Ray tasks take the tracer along and report with
``tracer.markdown_sync`` and ``await tracer.markdown``: their lines are in the run's log,
each task's in order, before its terminal status.

Only inputs shrink the runtime (``tasks: 3``); the seed's tasks sleep 1-3 s each.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist._net import free_port
from hoist.errors import RunNotFoundError
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import Runtime
from tests.conftest import EXAMPLES, HOIST, write_files
from tests.services.test_app import serving
from tests.waiting import wait_answering, wait_until

SERVE = str(Path(sys.executable).parent / "serve")


def _ray_env(ray_cluster: Any, hoist_home: Path) -> dict[str, str]:
    from hoist.executors.ray.cluster import LOOPBACK_ENV

    return {**os.environ, **LOOPBACK_ENV, "RAY_ADDRESS": ray_cluster.address,
            "HOIST_HOME": str(hoist_home)}  # fmt: skip


def _ended(runtime: Runtime, run_id: str, timeout: float = 120) -> Run:
    def check() -> Run | None:
        try:
            run = runtime.store.get_run(run_id)
        except RunNotFoundError:
            return None
        return run if run.status.is_terminal else None

    return wait_until(check, timeout, f"run {run_id} to end")


def _launch_and_check(url: str, runtime: Runtime) -> Run:
    """The seed's workflow against a served ``my_service``: the form, a refused input,
    a launch of 3 tasks and its run."""
    with httpx.Client(base_url=url, timeout=30) as http:
        form = http.get("/").json()
        assert any(e.get("name") == "tasks" for e in form["elements"])
        refused = http.post("/", json={"tasks": 501})
        assert refused.status_code == 422
        assert refused.json()["errors"]["tasks"] == ["Maximum number of concurrent tasks is 500"]
        answer = http.post("/", json={"tasks": "3"})
    assert answer.status_code == 202, answer.text
    run = _ended(runtime, answer.json()["run_id"])
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert sorted(r["i"] for r in run.result) == [0, 1, 2]
    assert all(1 <= r["result"] <= 3 for r in run.result)
    events = runtime.store.events(run.id)
    outputs = [e.body for e in events if e.type == "output"]
    assert outputs and all(o.startswith("have results `[{") for o in outputs)
    printed = [e.message for e in events if e.type == "log" and e.logger == "stdout"]
    assert printed[-1] == "have result `100.00%`"
    assert events[-1].type == "status" and events[-1].status == RunStatus.SUCCEEDED
    assert run.meta["service"]["entry_point"] == "my_service.calc:execute"
    return run


@pytest.fixture
def connected(ray_cluster: Any) -> Any:
    from hoist.executors.ray.connect import ensure_ray

    return ensure_ray(ray_cluster.address)


def test_my_service_on_uvicorn_fans_out_on_ray(
    ray_cluster: Any, hoist_home: Path, runtime: Runtime, tmp_path: Path
) -> None:
    port = free_port()
    command = [*HOIST, "service", "run", "my_service.app:app", "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    log = (tmp_path / "service.log").open("w")
    # From the examples folder, as the seed runs it: Ray gives its workers the driver's
    # current folder, so they import my_service.calc to run calculate.
    proc = subprocess.Popen(
        command, cwd=EXAMPLES, env=_ray_env(ray_cluster, hoist_home), stdout=log,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_answering(proc, f"http://127.0.0.1:{port}/", 120)
        _launch_and_check(f"http://127.0.0.1:{port}", runtime)
    finally:
        proc.send_signal(signal.SIGINT)  # uvicorn's graceful stop (the app's lifespan ends)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@pytest.fixture
def serve_port(ray_cluster: Any, connected: Any) -> Iterator[int]:
    """Ray Serve on the test's cluster, its HTTP proxy on loopback: the one already running
    (a deployment test may have started it, and Serve keeps its first port), else started
    on a free port; shut down after the test."""
    from urllib.parse import urlsplit

    from hoist.deployment.serving import ensure_serve, serve_module

    url = ensure_serve(ray_cluster.address)
    try:
        yield int(urlsplit(url).port or 80)
    finally:
        serve_module().shutdown()


def serve_run_my_service(
    ray_cluster: Any, hoist_home: Path, port: int, env_vars: dict[str, str] | None = None
) -> str:
    """``serve run my_service.app:fast_app`` on the cluster; the proxy's URL once the
    ingress answers. The replica imports ``my_service`` (PYTHONPATH) and records into the
    test's store (HOIST_HOME), both through the runtime environment, plus ``env_vars``."""
    env = {"HOIST_HOME": str(hoist_home), "PYTHONPATH": str(EXAMPLES), **(env_vars or {})}
    command = [SERVE, "run", "--non-blocking", "--address", ray_cluster.address,
               "--runtime-env-json", json.dumps({"env_vars": env}),
               "my_service.app:fast_app"]  # fmt: skip
    deployed = subprocess.run(
        command, cwd=EXAMPLES, env=_ray_env(ray_cluster, hoist_home), capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{url}/", timeout=5).status_code == 200, 120, "the ingress")
    return url


def test_my_service_as_a_ray_serve_ingress(
    ray_cluster: Any, serve_port: int, hoist_home: Path, runtime: Runtime
) -> None:
    url = serve_run_my_service(ray_cluster, hoist_home, serve_port)
    _launch_and_check(url, runtime)


TRACED_CALC = """
import asyncio
import ray
from hoist.services import Tracer


@ray.remote(num_cpus=0.1)
def work(i: int, tracer: Tracer) -> int:
    tracer.markdown_sync(f"task {i}: sync")

    async def more() -> None:
        await tracer.markdown(f"task {i}: async")
        await tracer.markdown(f"task {i}: last")

    asyncio.run(more())
    return i


async def execute(inputs: dict, tracer: Tracer):
    done = await asyncio.gather(*[work.remote(i, tracer) for i in range(int(inputs["tasks"]))])
    return sum(done)


def execute_sync(inputs: dict, tracer: Tracer):
    tracer.markdown_sync("sync entry")
    return sum(ray.get([work.remote(i, tracer) for i in range(int(inputs["tasks"]))]))
"""

TRACED_APP = """
import fastapi
from hoist.services import ServeAPI, Launch, forms as F

app = ServeAPI()
form = F.Model(F.InputNumber(label="Tasks", name="tasks", value=2), F.Submit("Go"))


@app.enter("/", model=form, summary="Traced")
async def enter(request: fastapi.Request, inputs: dict):
    return Launch(request, "traced_calc:execute", inputs=inputs)


@app.enter("/sync", model=form, summary="Traced sync")
def enter_sync(request: fastapi.Request, inputs: dict):
    return Launch(request, "traced_calc:execute_sync", inputs=inputs)
"""


@pytest.mark.parametrize("path", ["/", "/sync"])
def test_ray_tasks_report_through_the_tracer_before_the_run_ends(
    connected: Any, runtime: Runtime, tmp_path: Path, path: str
) -> None:
    folder = write_files(tmp_path / "traced", {"traced_calc.py": TRACED_CALC,
                                               "traced_app.py": TRACED_APP})  # fmt: skip
    sys.path.insert(0, str(folder))
    try:
        import traced_app
        import traced_calc

        # Ray's workers import a task's module by name: this one is shipped by value.
        connected.cloudpickle.register_pickle_by_value(traced_calc)
        with serving(traced_app.app) as client:
            answer = client.post(path, json={"tasks": 3})
            assert answer.status_code == 202, answer.text
            run = _ended(runtime, answer.json()["run_id"], 60)
    finally:
        connected.cloudpickle.unregister_pickle_by_value(sys.modules["traced_calc"])
        sys.path.remove(str(folder))
        for name in ("traced_app", "traced_calc"):
            sys.modules.pop(name, None)
    assert run.status == RunStatus.SUCCEEDED and run.result == 3, run.error
    events = runtime.store.events(run.id)
    assert events[-1].type == "status" and events[-1].status == RunStatus.SUCCEEDED
    bodies = [e.body for e in events if e.type == "output"]
    for i in range(3):
        mine = [b for b in bodies if b.startswith(f"task {i}:")]
        assert mine == [f"task {i}: sync", f"task {i}: async", f"task {i}: last"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


# ---------------------------------------------------------------------- the seed's code
# The seed's snippets of my_service (its step 2, "implement entrypoint", for calc.py and
# 3 to 6, "setup app" to "configure Ray deployment", for app.py), as written there,
# trailing spaces included; not step 7's optional ``__main__`` section (the example runs
# under ``hoist service run`` or ``serve run``).
SEED_CALC = """# ./home/my_service/calc.py
import asyncio
import ray
from kodosumi.core import Tracer

async def execute(inputs: dict, tracer: Tracer):
    tasks = inputs["tasks"]
    futures = [calculate.remote(i) for i in range(tasks)]
    pending = futures.copy()
    total = []
    while True:
        done, pending = ray.wait(pending, timeout=0.01)
        if done:
            ret = await asyncio.gather(*done)
            total.extend(ret)
            await tracer.markdown(f"have results `{ret}`")
            print(f"have result `{len(total)/tasks*100:.2f}%`")
        if not pending:
            break
        await asyncio.sleep(0.1)
    return total

# ./home/my_service/calc.py
import time
from random import randint
import datetime

@ray.remote
def calculate(i: int):
    # do your heavy-lifting work here
    t0 = datetime.datetime.now()
    s = randint(1, 3)
    time.sleep(s)
    t1 = datetime.datetime.now()
    return {
        "i": i, 
        "t0": t0, 
        "t1": t1, 
        "delta": (t1 - t0).total_seconds(), 
        "result": s
    }
"""  # noqa: W291

SEED_APP = '''# ./apps/my_service/app.py
from kodosumi.core import ServeAPI

app = ServeAPI()

from kodosumi.core import forms as F

my_model = F.Model(
    F.Markdown("""
    # My Service
    Specify the number of tasks to run. Each tasks will take between 1 and 3 
    seconds to complete. The level of concurrency is determined by the size of
    the Ray cluster.
    """),
    F.Break(),
    F.InputText(label="Number of Tasks", name="tasks", value="25"),
    F.Submit("Submit"),
    F.Cancel("Cancel")
)

import fastapi
from kodosumi.core import InputsError
from kodosumi.core import Launch

@app.enter(
    path="/",
    model=my_model,
    summary="My Service",
    description="Not so agentic example service.",
    tags=["Test"],
    version="1.0.0",
    author="your.email@domain.com")
async def enter(request: fastapi.Request, inputs: dict):
    tasks = inputs.get("tasks", 0)
    error = InputsError()
    if not tasks:
        error.add(tasks="Please specify the number of concurrent tasks.")
    if isinstance(tasks, str):
        tasks = int(tasks)
    MAX = 500
    if tasks > MAX:
        error.add(tasks=f"Maximum number of concurrent tasks is {MAX}")
    if error.has_errors():
        raise error
    return Launch(
        request, 
        "my_service.calc:execute", 
        inputs={"tasks": tasks}
    )

from ray import serve

@serve.deployment
@serve.ingress(app)
class MyService: pass

fast_app = MyService.bind()
'''  # noqa: W291


def _code_and_imports(source: str) -> tuple[str, dict[str, str]]:
    """The module's code without its import statements (its AST: formatting and comments
    aside) and what those imported: ``{bound name: module.name}``."""
    imported: dict[str, str] = {}
    body: list[ast.stmt] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            imported.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom):
            imported.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        else:
            body.append(node)
    return ast.dump(ast.Module(body=body, type_ignores=[])), imported


@pytest.mark.parametrize(("name", "seed"), [("calc.py", SEED_CALC), ("app.py", SEED_APP)])
def test_my_service_is_the_seeds_code_with_only_its_imports_changed(name: str, seed: str) -> None:
    code, imports = _code_and_imports((EXAMPLES / "my_service" / name).read_text())
    seed_code, seed_imports = _code_and_imports(seed)
    assert code == seed_code  # its string constants too: the form's text, to the space
    renamed = {k: v.replace("kodosumi.core.", "hoist.services.") for k, v in seed_imports.items()}
    assert imports == renamed  # the same names, from hoist.services
