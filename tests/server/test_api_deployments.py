"""The deployments API against a live server: deploy a catalog plugin's action with the
``local`` and ``process`` strategies, read, call, stop, redeploy and roll back; roles,
CSRF, masked secrets, and every kind of bad input."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HOIST, write_files
from tests.server.conftest import ADMIN_PASSWORD, LiveServer, serve, server_settings
from tests.waiting import wait_until

API = "/api/v1/deployments"

CONFIG = """\
name: Counter
code: counter
version: 0.1.0
category: neural_net
description: counts
actions:
  count:
    entrypoint: plugin.actions:count
    method: local
    description: count to n
  boom:
    entrypoint: plugin.actions:boom
    method: local
    description: always fails
"""

ACTIONS = """\
import os

from pydantic import BaseModel, Field

from hoist import RuntimeContext, action


class CountParams(BaseModel):
    n: int = Field(ge=0, le=100)
    label: str = "items"


class CountResult(BaseModel):
    total: int
    label: str
    secret: str | None = None


class BoomParams(BaseModel):
    why: str = "because"


@action(name="count", description="count to n", params=CountParams, result=CountResult)
def count(params: CountParams, context: RuntimeContext) -> CountResult:
    context.log_message("counting " + params.label)
    total = sum(range(params.n + 1))
    return CountResult(total=total, label=params.label, secret=os.environ.get("COUNTER_SECRET"))


@action(name="boom", description="always fails", params=BoomParams)
def boom(params: BoomParams, context: RuntimeContext) -> None:
    raise RuntimeError("boom: " + params.why)
"""


GATED = """\
import os as _os
import time as _time

while not _os.path.exists(_os.environ.get("COUNTER_GATE", "/")):
    _time.sleep(0.01)  # a gate the test opens: the import blocks until then
"""


def write_plugin(root: Path) -> Path:
    """The ``counter`` plugin (actions ``count`` and ``boom``) under ``root``."""
    return write_files(
        root / "counter",
        {"config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/actions.py": ACTIONS},
    )


@pytest.fixture
def live(tmp_path: Path, hoist_home: Path) -> Iterator[LiveServer]:
    """A server whose catalog is a folder holding the ``counter`` plugin."""
    plugins = tmp_path / "plugins"
    write_plugin(plugins)
    with serve(server_settings(hoist_home, plugin_paths=(plugins,)), keepalive=0.5) as server:
        yield server


def http(live: LiveServer, role: str = "operator") -> httpx.Client:
    """A client with a token of ``role``; deploys may take a while."""
    return live.http(live.token(role), timeout=120)


def deploy(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post(API, json={"plugin": "counter", "action": "count", **body})


def test_deploy_local_read_invoke_logs_and_stop(live: LiveServer) -> None:
    op = http(live)
    answer = deploy(op, strategy="local", name="count-local",
                    env_vars={"COUNTER_SECRET": "s3cret-value"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert answer.headers["Location"] == f"{API}/count-local"
    assert (record["name"], record["version"], record["strategy"]) == ("count-local", 1, "local")
    assert record["status"] == "running" and record["health"] == "healthy"
    assert record["config"]["action"] == "count"
    assert record["config"]["env_vars"] == {"COUNTER_SECRET": "***"}
    assert "snapshot" not in record

    viewer = http(live, "viewer")
    listed = viewer.get(API)
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()] == ["count-local"]
    shown = viewer.get(f"{API}/count-local").json()
    assert shown["status"] == "running" and [v["version"] for v in shown["versions"]] == [1]
    for body in (listed.text, shown and viewer.get(f"{API}/count-local").text):
        assert "s3cret-value" not in body

    ok = op.post(f"{API}/count-local/invoke", json={"inputs": {"n": 4, "label": "apples"}})
    assert ok.status_code == 200
    assert ok.json() == {
        "status": "success",
        "output": {"total": 10, "label": "apples", "secret": "s3cret-value"},
    }  # the value reaches the deployment; answers about the deployment mask it
    bad = op.post(f"{API}/count-local/invoke", json={"inputs": {"n": 1000}})
    assert bad.status_code == 422
    assert bad.json()["status"] == "error"
    assert bad.json()["error"]["type"] == "ParamsValidationError"
    assert "n: must be <= 100" in bad.json()["error"]["message"]

    wait_until(lambda: "counting apples" in op.get(f"{API}/count-local/logs").json()["logs"],
               what="the action's log line in the deployment's logs")  # fmt: skip

    stopped = op.post(f"{API}/count-local/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    after = op.post(f"{API}/count-local/invoke", json={"inputs": {"n": 1}})
    assert after.status_code == 409 and "not running" in after.json()["detail"]


@pytest.mark.parametrize("strategy", ["local", "process"])
def test_inputs_that_do_not_validate_answer_their_field_errors(
    live: LiveServer, strategy: str
) -> None:
    op = http(live)
    assert deploy(op, strategy=strategy, name=f"fields-{strategy}").status_code == 201
    bad = op.post(f"{API}/fields-{strategy}/invoke", json={"inputs": {"n": 1000}})
    assert bad.status_code == 422
    assert bad.json()["error"]["field_errors"] == {"n": ["must be <= 100"]}
    missing = op.post(f"{API}/fields-{strategy}/invoke", json={"inputs": {}})
    assert missing.status_code == 422
    assert missing.json()["error"]["field_errors"] == {"n": ["field required"]}


def test_auto_lets_the_selector_choose(live: LiveServer) -> None:
    op = http(live)
    answer = deploy(op, strategy="auto", name="chosen")
    assert answer.status_code == 201, answer.text
    assert answer.json()["strategy"] in {"local", "process"}
    assert op.post(f"{API}/chosen/invoke", json={"inputs": {"n": 2}}).json()["output"]["total"] == 3


def test_the_server_answers_while_a_deploy_waits(tmp_path: Path, hoist_home: Path) -> None:
    """A deploy blocks its request (the worker waits for a gate file before it imports
    the action), never the server: other requests are answered meanwhile."""
    plugins = tmp_path / "plugins"
    write_plugin(plugins)
    actions = plugins / "counter" / "plugin" / "actions.py"
    gate = tmp_path / "gate"
    actions.write_text(GATED + actions.read_text())
    with serve(server_settings(hoist_home, plugin_paths=(plugins,))) as live:
        op = http(live)
        answers: list[httpx.Response] = []
        body = {"strategy": "local", "name": "gated", "env_vars": {"COUNTER_GATE": str(gate)}}
        thread = threading.Thread(target=lambda: answers.append(deploy(op, **body)))
        thread.start()
        try:
            wait_until(lambda: [r["status"] for r in op.get(API).json()] == ["deploying"],
                       what="the deploy to be under way")  # fmt: skip
            assert op.get("/api/v1/health").status_code == 200
            assert not answers  # still waiting for its deployment
        finally:
            gate.touch()
            thread.join(120)
        assert answers[0].status_code == 201, answers[0].text
        assert answers[0].json()["status"] == "running"


def test_an_error_of_the_deployed_code_is_a_502_with_the_envelope(live: LiveServer) -> None:
    op = http(live)
    assert deploy(op, strategy="local", name="boomer", action="boom").status_code == 201
    answer = op.post(f"{API}/boomer/invoke", json={"inputs": {"why": "testing"}})
    assert answer.status_code == 502
    body = answer.json()
    assert body["status"] == "error" and "boom: testing" in body["error"]["message"]


def test_process_strategy_redeploy_and_rollback(live: LiveServer) -> None:
    op = http(live)
    first = deploy(op, strategy="process", name="counter-http")
    assert first.status_code == 201, first.text
    assert first.json()["endpoint"].startswith("http://127.0.0.1:")
    answer = op.post(f"{API}/counter-http/invoke", json={"inputs": {"n": 3}})
    assert answer.status_code == 200 and answer.json()["output"]["total"] == 6
    bad = op.post(f"{API}/counter-http/invoke", json={"inputs": {"n": -1}})
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "ParamsValidationError"

    second = deploy(op, strategy="local", name="counter-http")
    assert second.status_code == 201 and second.json()["version"] == 2
    shown = op.get(f"{API}/counter-http").json()
    assert shown["version"] == 2 and shown["strategy"] == "local"
    assert [(v["version"], v["status"]) for v in shown["versions"]] == [
        (1, "replaced"), (2, "running"),
    ]  # fmt: skip
    v1 = op.get(f"{API}/counter-http", params={"version": 1}).json()
    assert v1["version"] == 1 and v1["strategy"] == "process"

    back = op.post(f"{API}/counter-http/rollback", json={})
    assert back.status_code == 200, back.text
    assert back.json()["version"] == 1 and back.json()["status"] == "running"
    assert op.get(f"{API}/counter-http").json()["version"] == 1
    again = op.post(f"{API}/counter-http/invoke", json={"inputs": {"n": 2}})
    assert again.status_code == 200 and again.json()["output"]["total"] == 3
    to_running = op.post(f"{API}/counter-http/rollback", json={"version": 1})
    assert to_running.status_code == 422 and "running already" in to_running.text
    assert "version" in to_running.json()["errors"]
    missing = op.post(f"{API}/counter-http/rollback", json={"version": 9})
    assert missing.status_code == 404 and missing.json()["kind"] == "deployment"


def test_a_failed_deploy_is_a_409_and_the_running_version_keeps_running(
    live: LiveServer,
) -> None:
    op = http(live)
    assert deploy(op, strategy="local", name="steady").status_code == 201
    failed = op.post(
        API,
        json={
            "plugin": "counter",
            "app": "plugin.actions:app",
            "strategy": "local",
            "name": "steady",
        },
    )  # the local strategy serves no apps
    assert failed.status_code == 409, failed.text
    assert "steady" in failed.json()["detail"] and "v2" in failed.json()["detail"]
    shown = op.get(f"{API}/steady").json()
    assert (shown["version"], shown["status"]) == (1, "running")
    assert [(v["version"], v["status"]) for v in shown["versions"]] == [
        (1, "running"), (2, "failed"),
    ]  # fmt: skip
    answer = op.post(f"{API}/steady/invoke", json={"inputs": {"n": 1}})
    assert answer.status_code == 200


def test_stopping_the_server_stops_its_deployments(tmp_path: Path, hoist_home: Path) -> None:
    plugins = tmp_path / "plugins"
    write_plugin(plugins)
    settings = server_settings(hoist_home, plugin_paths=(plugins,))
    with serve(settings) as live:
        record = deploy(http(live), strategy="process", name="served").json()
        endpoint = record["endpoint"]
        assert httpx.get(f"{endpoint}/health").status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{endpoint}/health")
    with serve(settings) as again:
        shown = http(again, "viewer").get(f"{API}/served").json()
        assert (shown["status"], shown["health"]) == ("stopped", "unknown")


def test_viewers_read_but_may_not_deploy_call_stop_or_read_logs(live: LiveServer) -> None:
    op = http(live)
    assert deploy(op, strategy="local", name="guarded").status_code == 201
    viewer = http(live, "viewer")
    assert viewer.get(API).status_code == 200
    assert viewer.get(f"{API}/guarded").status_code == 200
    refused = [
        viewer.post(API, json={"plugin": "counter", "action": "count", "strategy": "local"}),
        viewer.post(f"{API}/guarded/invoke", json={"inputs": {"n": 1}}),
        viewer.post(f"{API}/guarded/stop"),
        viewer.post(f"{API}/guarded/rollback", json={}),
        viewer.get(f"{API}/guarded/logs"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert op.get(f"{API}/guarded").json()["status"] == "running"
    assert http(live, "admin").get(f"{API}/guarded/logs").status_code == 200


def test_cookie_sessions_need_the_csrf_token(live: LiveServer) -> None:
    client = live.http(timeout=120)
    login = client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    csrf = login.json()["csrf_token"]
    body = {"plugin": "counter", "action": "count", "strategy": "local", "name": "csrf"}
    assert client.post(API, json=body).status_code == 403
    assert client.get(API).json() == []
    answer = client.post(API, json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201
    assert client.post(f"{API}/csrf/stop").status_code == 403
    assert client.post(f"{API}/csrf/stop", headers={"X-CSRF-Token": csrf}).status_code == 200


def test_unknown_plugin_action_strategy_and_deployment(live: LiveServer) -> None:
    op = http(live)
    plugin = op.post(API, json={"plugin": "nope", "strategy": "local"})
    assert plugin.status_code == 404 and plugin.json()["kind"] == "plugin"
    assert "counter" in plugin.json()["detail"]
    action = deploy(op, strategy="local", action="cuont")
    assert action.status_code == 404 and action.json()["suggestions"] == ["count"]
    strategy = deploy(op, strategy="teleport")
    assert strategy.status_code == 404 and strategy.json()["kind"] == "strategy"
    assert "local" in strategy.json()["detail"] and "process" in strategy.json()["detail"]
    which = op.post(API, json={"plugin": "counter", "strategy": "local"})
    assert which.status_code == 422 and "boom" in which.json()["errors"]["action"][0]
    for method, path in [("GET", ""), ("POST", "/invoke"), ("GET", "/logs"), ("POST", "/stop"),
                         ("POST", "/rollback")]:  # fmt: skip
        answer = op.request(method, f"{API}/ghost{path}", json={} if method == "POST" else None)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["kind"] == "deployment"
    assert op.get(API).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"plugin": "counter", "action": "count", "strategy": "local", "target": "/etc"},
        {"plugin": "counter", "action": "count", "strategy": "local", "code_path": "/etc"},
        {"plugin": "../x", "action": "count", "strategy": "local"},
        {"plugin": "/etc", "action": "count", "strategy": "local"},
        {"plugin": "counter", "action": "../count", "strategy": "local"},
        {"plugin": "counter", "action": "count", "strategy": "../local"},
        {"plugin": "counter", "action": "count", "strategy": "local", "name": "../etc"},
        {"plugin": "counter", "action": "count", "strategy": "local", "name": ".hidden"},
        {"plugin": "counter", "module": "os;rm", "strategy": "local"},
        {"plugin": "counter", "app": "/tmp/x.py", "strategy": "process"},
        {"plugin": "counter", "action": "count", "strategy": "local", "env_vars": {"A B": "x"}},
        {"plugin": "counter", "action": "count", "strategy": "local", "timeout": 0},
        # Setting values are scalars, names match the pattern, and each one exists.
        {
            "plugin": "counter",
            "action": "count",
            "strategy": "local",
            "settings": {"nested": {"a": 1}},
        },
        {"plugin": "counter", "action": "count", "strategy": "local", "settings": {"Bad-Key": 1}},
        {
            "plugin": "counter",
            "action": "count",
            "strategy": "local",
            "settings": {"no_such_setting": 1},
        },
    ],
)
def test_paths_and_malformed_fields_are_refused(live: LiveServer, body: dict[str, Any]) -> None:
    op = http(live)
    answer = op.post(API, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"]
    assert op.get(API).json() == []


def test_dotted_plugin_names_are_looked_up_in_the_catalog_only(live: LiveServer) -> None:
    op = http(live)
    for name in ("..", "."):
        answer = op.post(API, json={"plugin": name, "action": "count", "strategy": "local"})
        assert answer.status_code == 404 and answer.json()["kind"] == "plugin"
    assert op.get(API).json() == []


def test_the_openapi_document_lists_the_routes(live: LiveServer) -> None:
    spec = http(live, "viewer").get("/api/v1/openapi.json").json()
    expected = {
        ("/api/v1/deployments", "get"), ("/api/v1/deployments", "post"),
        ("/api/v1/deployments/{name}", "get"), ("/api/v1/deployments/{name}/invoke", "post"),
        ("/api/v1/deployments/{name}/logs", "get"), ("/api/v1/deployments/{name}/stop", "post"),
        ("/api/v1/deployments/{name}/rollback", "post"), ("/api/v1/strategies", "get"),
        ("/api/v1/strategies/{name}", "get"),
    }  # fmt: skip
    for path, method in expected:
        operation = spec["paths"][path][method]
        assert operation["summary"] and operation["description"], (path, method)


def test_a_deployment_another_process_runs_is_called_through_the_api(
    tmp_path: Path, hoist_home: Path
) -> None:
    folder = write_plugin(tmp_path / "elsewhere")
    env = {**os.environ, "HOIST_HOME": str(hoist_home)}
    with serve(server_settings(hoist_home, plugin_paths=(tmp_path / "plugins",))) as live:
        proc = subprocess.Popen(
            [*HOIST, "deploy", str(folder), "--strategy", "process", "--action", "count",
             "--name", "elsewhere"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            op = http(live)

            def running() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"hoist deploy exited: {proc.stderr.read()}")  # type: ignore[union-attr]
                answer = op.get(f"{API}/elsewhere")
                return answer.status_code == 200 and answer.json()["status"] == "running"

            wait_until(running, timeout=90, what="the other process's deployment to run")
            record = op.get(f"{API}/elsewhere").json()
            assert record["owner"].endswith(f":{proc.pid}")
            answer = op.post(f"{API}/elsewhere/invoke", json={"inputs": {"n": 5}})
            assert answer.status_code == 200, answer.text
            assert answer.json()["output"]["total"] == 15
            bad = op.post(f"{API}/elsewhere/invoke", json={"inputs": {"n": "many"}})
            assert bad.status_code == 422 and "n" in bad.json()["error"]["field_errors"]
            logs = op.get(f"{API}/elsewhere/logs")  # its log file: the server's output
            assert logs.status_code == 200 and "Started server process" in logs.json()["logs"]
            stop = op.post(f"{API}/elsewhere/stop")
            assert stop.status_code == 409 and str(proc.pid) in stop.json()["detail"]
        finally:
            proc.kill()
            proc.wait(30)
            assert proc.stderr is not None
            proc.stderr.close()


@pytest.mark.parametrize(
    "settings",
    [
        {"command": "/bin/sh"},
        {"python": "/usr/bin/python3"},
        {"host": "0.0.0.0"},
        {"log_path": "/etc/passwd"},
        {"python_dir": "/tmp"},
    ],
)
def test_settings_naming_a_program_or_file_are_the_servers(
    live: LiveServer, settings: dict[str, Any]
) -> None:
    op = http(live)
    body = {"plugin": "counter", "action": "count", "strategy": "local", "settings": settings}
    answer = op.post(API, json=body)
    assert answer.status_code == 403, answer.text
    assert next(iter(settings)) in answer.json()["detail"]
    assert op.get(API).json() == []
