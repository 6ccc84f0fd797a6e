"""The ``langgraph`` strategy against a real LangGraph server: ``langgraph dev`` of the
engine environment ``make engines`` builds (.engines/langgraph), on free ports of
127.0.0.1, called over its HTTP API, stopped by each test (or module)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("httpx")

from hoist.deployment import DeployConfig, DeploymentFactory, StrategyRegistry
from hoist.deployment.records import DeploymentRecord
from hoist.deployment.selector import select
from hoist.deployment.strategies.langgraph import LangGraphRunner
from hoist.errors import DeploymentError, DeploymentNotReadyError, EngineUnavailableError
from tests.conftest import engine_command, write_files
from tests.waiting import wait_until

AGENT = """
import operator
import os
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int
    y: int
    env: str
    history: Annotated[list[int], operator.add]


def double(state: State) -> dict:
    if state.get("x") == 13:
        raise ValueError("unlucky 13")
    return {"y": state["x"] * 2, "history": [state["x"]]}


def read_env(state: State) -> dict:
    return {"env": os.environ.get("LG_TEST_VAR", "unset")}


builder = StateGraph(State)
builder.add_node("double", double)
builder.add_node("read_env", read_env)
builder.add_edge(START, "double")
builder.add_edge("double", "read_env")
builder.add_edge("read_env", END)
graph = builder.compile()
"""


@pytest.fixture(scope="module")
def command() -> str:
    return str(engine_command("langgraph"))


@pytest.fixture(scope="module")
def agent_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(tmp_path_factory.mktemp("lg") / "agent", {"agent.py": AGENT})


@pytest.fixture(scope="module")
def served(command: str, agent_code: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[LangGraphRunner]:  # fmt: skip
    """One ``langgraph dev`` server for the calls' tests (started once: it takes seconds)."""
    log = tmp_path_factory.mktemp("lg-log") / "server.log"
    runner = LangGraphRunner(str(agent_code), "agent", "graph", command=command, timeout=60,
                             env_vars={"LG_TEST_VAR": "from-hoist"}, log_path=str(log))  # fmt: skip
    runner.start()
    yield runner
    runner.stop()


# ---------------------------------------------------------------------------- calls
def test_run_answers_the_final_state(served: LangGraphRunner) -> None:
    answer = served.run({"x": 3})
    assert answer == {"status": "success",
                      "output": {"x": 3, "y": 6, "env": "from-hoist", "history": [3]}}  # fmt: skip
    assert served.is_healthy()
    assert served.endpoint is not None and served.endpoint.startswith("http://127.0.0.1:")


def test_the_input_schema_is_the_graphs_state(served: LangGraphRunner) -> None:
    schema = served.input_schema()
    assert schema is not None and schema["type"] == "object"
    assert set(schema["properties"]) == {"x", "y", "env", "history"}
    assert schema["properties"]["x"]["type"] == "integer"


def test_env_vars_reach_the_nodes_only(served: LangGraphRunner) -> None:
    assert served.run({"x": 1})["output"]["env"] == "from-hoist"
    assert "LG_TEST_VAR" not in os.environ


def test_each_run_has_its_own_thread_unless_one_is_given(served: LangGraphRunner) -> None:
    first = served.run({"x": 1})
    thread_one = served.last_thread_id
    second = served.run({"x": 2})
    assert first["output"]["history"] == [1] and second["output"]["history"] == [2]
    assert served.last_thread_id != thread_one

    thread = served.create_thread()
    served.run({"x": 4}, thread_id=thread)
    again = served.run({"x": 5}, thread_id=thread)
    assert served.last_thread_id == thread
    assert again["output"]["history"] == [4, 5]  # the thread kept its state


def test_an_error_in_a_node_is_an_error_envelope(served: LangGraphRunner) -> None:
    answer = served.run({"x": 13})
    assert answer == {"status": "error",
                      "error": {"type": "ValueError", "message": "unlucky 13"}}  # fmt: skip
    assert served.run({"x": 2})["status"] == "success"  # the server goes on


def test_an_unknown_thread_is_an_http_error(served: LangGraphRunner) -> None:
    answer = served.run({"x": 1}, thread_id="00000000-0000-0000-0000-000000000000")
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "HTTP 404"
    assert "not found" in answer["error"]["message"]


def test_stream_yields_the_runs_events(served: LangGraphRunner) -> None:
    events = list(served.stream({"x": 5}))
    names = [event["event"] for event in events]
    assert names[0] == "metadata" and "run_id" in events[0]["data"]
    updates = [event["data"] for event in events if event["event"] == "updates"]
    assert updates == [{"double": {"y": 10, "history": [5]}}, {"read_env": {"env": "from-hoist"}}]
    values = [event["data"] for event in events if event["event"] == "values"]
    assert values[-1] == {"x": 5, "y": 10, "env": "from-hoist", "history": [5]}

    only_updates = list(served.stream({"x": 6}, stream_mode=["updates"]))
    assert {event["event"] for event in only_updates} == {"metadata", "updates"}


def test_stream_ends_with_the_error_event(served: LangGraphRunner) -> None:
    events = list(served.stream({"x": 13}))
    assert events[-1] == {"event": "error",
                          "data": {"error": "ValueError", "message": "unlucky 13"}}  # fmt: skip


def test_url_attaches_to_a_running_server_without_stopping_it(served: LangGraphRunner) -> None:
    assert served.endpoint is not None
    assert LangGraphRunner.missing(url=served.endpoint) is None
    attached = LangGraphRunner(url=served.endpoint)
    attached.start()
    assert attached.run({"x": 7})["output"]["y"] == 14
    attached.stop()
    assert served.is_healthy()  # only the connections closed


def test_attach_from_a_record_calls_but_cannot_stop(served: LangGraphRunner) -> None:
    record = DeploymentRecord(name="g", version=1, strategy="langgraph", status="running",
                              endpoint=served.endpoint, run_id="r", owner="elsewhere:1",
                              snapshot="", config={"timeout": 30})  # fmt: skip
    runner = LangGraphRunner.attach(record)
    assert isinstance(runner, LangGraphRunner)
    assert runner.run({"x": 8})["output"]["y"] == 16
    with pytest.raises(DeploymentError, match="elsewhere:1 runs it"):
        runner.stop()
    assert served.is_healthy()
    no_endpoint = record.model_copy(update={"endpoint": None})
    assert LangGraphRunner.attach(no_endpoint) is None


# ---------------------------------------------------------------------------- lifecycle
def test_a_callable_deployed_through_the_factory(
    command: str, sample_code: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract's way: a plain predict(inputs) (the default main:predict) is wrapped
    in a one-step graph; the factory finds the command on PATH; the server's output goes
    to log_path; the code folder is not written; stop ends the server's process."""
    monkeypatch.setenv("PATH", f"{Path(command).parent}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "logs" / "1.log"
    config = DeployConfig(code_path=str(sample_code), log_path=str(log))  # main:predict
    software = DeploymentFactory.create("langgraph", config, registry=StrategyRegistry())
    before = sorted(p.name for p in sample_code.iterdir())
    try:
        assert software.run({"x": 21}) == {"status": "success", "output": {"doubled": 42}}
        failed = software.run({"x": 1, "fail": "no"})
        assert failed["status"] == "error"
        assert failed["error"] == {"type": "ValueError", "message": "asked to fail: no"}
        assert software.input_schema() is None  # a callable takes any object
        runner = software.runner
        assert isinstance(runner, LangGraphRunner)
        process = runner._process
        assert process is not None
    finally:
        software.stop()
    assert sorted(p.name for p in sample_code.iterdir()) == before  # no langgraph.json
    assert process.poll() is not None and runner.server_pid == process.pid
    wait_until(lambda: not _group_alive(process.pid), what="the server's group to end")
    assert "Application started up" in log.read_text()
    assert "Application started up" in software.logs()


def test_a_broken_graph_fails_start_with_the_servers_output(
    command: str, agent_code: Path, tmp_path: Path
) -> None:
    runner = LangGraphRunner(str(agent_code), "agent", "no_such_graph", command=command)
    with pytest.raises(DeploymentError, match="exited with code") as caught:
        runner.start()
    assert "no_such_graph" in str(caught.value)
    assert not runner.is_healthy() and runner._process is None
    answer = runner.run({"x": 1})  # run starts again, and answers the failure
    assert answer["status"] == "error" and "no_such_graph" in answer["error"]["message"]


def test_a_graph_slower_than_startup_timeout_is_not_ready_and_stopped(
    command: str, tmp_path: Path
) -> None:
    code = write_files(tmp_path / "slow", {"main.py": "import time\ntime.sleep(120)\n"})
    runner = LangGraphRunner(str(code), command=command, startup_timeout=3)
    with pytest.raises(DeploymentNotReadyError):
        runner.start()
    assert runner._process is None and runner.server_pid is not None
    pid = runner.server_pid
    wait_until(lambda: not _group_alive(pid), what="the server's process group to end")


def test_a_taken_port_fails_at_once(command: str, agent_code: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = LangGraphRunner(str(agent_code), command=command, port=port)
        with pytest.raises(DeploymentError, match=f"port {port} on 127.0.0.1 is already in use"):
            runner.start()
        assert runner._process is None


def test_an_unreachable_url_is_an_error() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    runner = LangGraphRunner(url=f"http://127.0.0.1:{port}", startup_timeout=2)
    with pytest.raises(DeploymentError, match="cannot reach the LangGraph server"):
        runner.start()


def test_auto_selects_langgraph_for_code_that_imports_it(
    agent_code: Path, sample_code: Path
) -> None:
    registry = StrategyRegistry(entry_points=False)
    allowed = ["local", "process", "langgraph"]
    chosen = select(DeployConfig(code_path=str(agent_code)), allowed, registry=registry)
    assert chosen.strategy == "langgraph" and "agent_graph=True" in chosen.reasoning
    plain = select(DeployConfig(code_path=str(sample_code)), allowed, registry=registry)
    assert plain.strategy == "local"
    with pytest.raises(DeploymentError, match="langgraph: rejected"):
        select(DeployConfig(code_path=str(sample_code)), ["langgraph"], registry=registry)


# ---------------------------------------------------------------------------- bad input
def test_the_missing_command_is_an_engine_error(
    sample_code: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    missing = LangGraphRunner.missing()
    assert missing is not None and "`langgraph` command" in missing
    runner = LangGraphRunner(str(sample_code))
    with pytest.raises(EngineUnavailableError) as caught:
        runner.start()
    message = str(caught.value)
    assert "strategy 'langgraph' cannot deploy here" in message
    assert 'pip install "langgraph-cli[inmem]"' in message and "make engines" in message
    answer = runner.run({"x": 1})
    assert answer["status"] == "error" and answer["error"]["type"] == "EngineUnavailableError"


def test_a_command_without_the_inmem_extra_is_an_engine_error(
    tmp_path: Path, sample_code: Path
) -> None:
    """A `langgraph` whose interpreter (Hoist's own) lacks langgraph-api (the inmem extra)."""
    fake = write_files(tmp_path / "bin", {"langgraph": f"#!{sys.executable}\n"}) / "langgraph"
    fake.chmod(0o755)
    missing = LangGraphRunner.missing(command=str(fake))
    assert missing is not None and "langgraph-cli[inmem]" in missing
    runner = LangGraphRunner(str(sample_code), command=str(fake))
    with pytest.raises(EngineUnavailableError, match="langgraph-api"):
        runner.start()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"action": "double"}, "not the action 'double'"),
        ({"app": "main:app"}, "not the app 'main:app'"),
        ({"code_path": None}, "needs code_path"),
        ({"graph_id": ""}, "graph_id must be a name"),
    ],
)
def test_bad_arguments_are_refused(sample_code: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(DeploymentError, match=match):
        LangGraphRunner(**{"code_path": str(sample_code), **kwargs})


def test_a_code_langgraph_json_that_is_not_an_object(command: str, tmp_path: Path) -> None:
    code = write_files(tmp_path / "code", {"agent.py": AGENT, "langgraph.json": "[1, 2]"})
    runner = LangGraphRunner(str(code), command=command)
    with pytest.raises(DeploymentError, match=r"langgraph\.json must be a JSON object"):
        runner.start()
    assert runner._process is None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
