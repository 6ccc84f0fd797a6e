"""MCP tests drive the server with the official SDK's client, over stdio (a real
``python -m hoist.mcp`` process) and streamable HTTP (``/mcp`` of a real uvicorn server
of ``create_app``), against a test plugin and the examples.

The stdio server is shared by the whole session (a process start costs seconds); each
HTTP test gets its own server (in this process, cheap), on its own HOIST_HOME.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, need, write_files
from tests.mcp.session import McpSession, http_client, server_env, stdio_client

PLUGIN_CONFIG = """\
name: MCP Test
code: mcptest
version: 0.1.0
description: Actions the MCP tests drive
actions:
  count:
    entrypoint: plugin.actions:count
    method: local
    description: Repeat a word
  steps:
    entrypoint: plugin.actions:steps
    method: local
    description: Report progress step by step, each step waiting for its gate file
  report:
    entrypoint: plugin.actions:report
    method: local
    description: Write a text, a JSON and a binary artifact
  with_key:
    entrypoint: plugin.actions:with_key
    method: local
    description: Use an API key (a secret param)
  chatty:
    entrypoint: plugin.actions:chatty
    method: local
    description: Print to stdout and stderr as it works
  fail:
    entrypoint: plugin.actions:fail
    method: local
    description: Fail with a known error (unless its code is 0)
pipelines:
  count_then_report:
    description: count, then report
    actions: [count, report]
  count_then_fail:
    description: count, then fail
    actions: [count, fail]
  keyed:
    description: use a key, then count
    actions: [with_key, count]
"""

PLUGIN_CODE = '''\
"""Actions the MCP tests drive."""

import json
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from hoist import action


class CountParams(BaseModel):
    word: str = Field("hi", min_length=1, max_length=20, description="The word to repeat")
    times: int = Field(3, ge=1, le=10, description="How many times")


class CountResult(BaseModel):
    text: str
    length: int


@action(name="count", description="Repeat a word", params=CountParams, result=CountResult)
def count(params, context):
    text = " ".join([params.word] * params.times)
    return CountResult(text=text, length=len(text))


class StepsParams(BaseModel):
    gates: str = Field(description="A folder: step i waits for the file named i in it")
    steps: int = Field(4, ge=1, le=20)


@action(name="steps", params=StepsParams)
def steps(params, context):
    gates = Path(params.gates)
    for step in range(1, params.steps + 1):
        context.set_progress(step, params.steps)
        context.log_message(f"step {step} of {params.steps}")  # flushes the progress
        deadline = time.monotonic() + 120
        while not (gates / str(step)).exists():
            context.check_cancelled()
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {step} never opened")
            time.sleep(0.01)
    return {"steps": params.steps}


class ReportParams(BaseModel):
    title: str = "weekly"


@action(name="report", params=ReportParams)
def report(params, context):
    folder = context.artifacts_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.txt").write_text(f"report {params.title}\\n")
    (folder / "summary.json").write_text(json.dumps({"title": params.title}))
    (folder / "data.bin").write_bytes(bytes(range(256)))
    (folder / "notes #1 ü.md").write_text("# notes ü\\n")
    for name in ("report.txt", "summary.json", "data.bin", "notes #1 ü.md"):
        context.add_artifact(folder / name)
    return {"files": 4}


class KeyParams(BaseModel):
    key: SecretStr = Field(min_length=8, description="The API key")
    label: str = Field("default", max_length=10)


@action(name="with_key", params=KeyParams)
def with_key(params, context):
    context.log_message(f"calling with a key of {len(params.key.get_secret_value())} characters")
    return {"length": len(params.key.get_secret_value()), "label": params.label}


@action(name="chatty")
def chatty(params, context):
    print("chatty: working on it")
    print("chatty: a problem", file=sys.stderr)
    print('{"jsonrpc": "2.0", "id": 1, "result": {}}', flush=True)
    return {"said": 3}


class FailParams(BaseModel):
    code: int = 42


@action(name="fail", params=FailParams)
def fail(params, context):
    context.log_message(f"checking code {params.code}")
    if params.code:
        raise ValueError(f"the input is broken: code {params.code}")
    return {"fixed": True}
'''


def mcp_test_plugin(root: Path) -> Path:
    """Write the ``mcptest`` plugin under ``root`` (a plugin search folder); returns root."""
    write_files(root / "mcptest", {"config.yaml": PLUGIN_CONFIG,
                                   "plugin/__init__.py": "",
                                   "plugin/actions.py": PLUGIN_CODE})  # fmt: skip
    return root


def need_sdk() -> None:
    """Skip (fail under CI) without the ``mcp`` extra."""
    if importlib.util.find_spec("mcp") is None:
        need("the MCP SDK is not installed (pip install 'hoist[mcp]')")


@pytest.fixture(scope="session")
def plugin_paths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    """Where the test servers find plugins: the ``mcptest`` plugin, then the examples."""
    return (mcp_test_plugin(tmp_path_factory.mktemp("mcp-plugins")), EXAMPLES)


@pytest.fixture(scope="session")
def stdio_server(
    tmp_path_factory: pytest.TempPathFactory, plugin_paths: tuple[Path, ...]
) -> Iterator[McpSession]:
    """One ``python -m hoist.mcp`` for the session, on its own home, acting as the local
    user; an action tool waits up to a minute for its run."""
    need_sdk()
    root = tmp_path_factory.mktemp("mcp-stdio")
    env = server_env(root / "home", plugin_paths, HOIST_MCP_CALL_WAIT="60")
    with McpSession(
        stdio_client(env, root / "server.log", root), "stdio", root / "server.log"
    ) as s:
        yield s


def live_mcp(settings: Any) -> Any:
    """A live ``create_app`` server with ``/mcp`` mounted (a context manager yielding
    the :class:`~tests.server.conftest.LiveServer`)."""
    need_sdk()
    if importlib.util.find_spec("uvicorn") is None:
        need("uvicorn is not installed (pip install 'hoist[server]')")
    from hoist.mcp import mount_mcp
    from tests.server.conftest import serve

    return serve(settings, prepare=mount_mcp, keepalive=0.5)


def mcp_url(live: Any) -> str:
    """The MCP endpoint of a live server."""
    from hoist.mcp import MCP_PATH

    return f"{live.url}{MCP_PATH}"


def http_session(live: Any, token: str | None) -> McpSession:
    """An MCP session with ``live``'s ``/mcp`` as the account of ``token``."""
    return McpSession(http_client(mcp_url(live), token), f"http {live.url}")


@pytest.fixture
def http_server(hoist_home: Path, plugin_paths: tuple[Path, ...]) -> Iterator[Any]:
    """A live server with ``/mcp``, on the test's HOIST_HOME."""
    from tests.server.conftest import server_settings

    with live_mcp(server_settings(hoist_home, plugin_paths=plugin_paths)) as live:
        yield live


@pytest.fixture(params=["stdio", "http"])
def mcp(request: pytest.FixtureRequest) -> Iterator[McpSession]:
    """A session over each transport: the shared stdio server (as the local user), and
    a fresh HTTP server (as its admin)."""
    if request.param == "stdio":
        yield request.getfixturevalue("stdio_server")
        return
    live = request.getfixturevalue("http_server")
    with http_session(live, live.token("admin")) as session:
        yield session


@pytest.fixture(scope="session")
def short_wait_stdio(
    tmp_path_factory: pytest.TempPathFactory, plugin_paths: tuple[Path, ...]
) -> Iterator[McpSession]:
    """A second stdio server for the session whose action tools answer after 0.2 s
    (``HOIST_MCP_CALL_WAIT``), with the run id when it has not ended."""
    need_sdk()
    root = tmp_path_factory.mktemp("mcp-stdio-short")
    env = server_env(root / "home", plugin_paths, HOIST_MCP_CALL_WAIT="0.2")
    log = root / "server.log"
    with McpSession(stdio_client(env, log, root), "stdio (short wait)", log) as session:
        yield session
