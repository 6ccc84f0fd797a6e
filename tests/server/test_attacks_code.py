"""Attacks on the code a server runs, and requests that used to end in a 500.

A stored run is data: resuming it (API or panel) loads actions through the server's
plugin catalog by plugin code and action name, never the folders, entrypoints or
exception types a record names, so a forged record cannot make the server import
anything. Bad paths and failing file systems answer a clear 4xx/503, never a traceback.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hoist.errors import ResumeError
from hoist.pipelines.rebuild import pipeline_from_run
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from tests.conftest import EXAMPLES, write_files
from tests.server.conftest import ADMIN_PASSWORD, LiveServer, serve, server_settings

API = "/api/v1"


def _marker_code(marker: Path) -> str:
    """Module source whose import leaves ``marker`` behind (the attack's proof)."""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"


def _evil_plugin(root: Path, marker: Path) -> Path:
    """A valid plugin folder outside the server's catalog; importing it writes ``marker``."""
    action = (
        "from hoist import action\n\n\n"
        "@action(name='boom')\n"
        "def boom() -> str:\n"
        "    return 'owned'\n"
    )
    return write_files(root, {
        "config.yaml": (
            "name: Evil\ncode: evil\nversion: 0.1.0\ncategory: custom\n"
            "actions:\n  boom:\n    entrypoint: plugin.boom:boom\n"
        ),
        "plugin/__init__.py": "",
        "plugin/boom.py": _marker_code(marker) + action,
    })  # fmt: skip


def _node(name: str, action: str, entrypoint: str, plugin_path: str | None = None,
          **changes: Any) -> dict[str, Any]:  # fmt: skip
    """A node record as a pipeline run stores it (see ``PipelineNode.describe``)."""
    record: dict[str, Any] = {
        "key": name, "action": action, "entrypoint": entrypoint, "plugin_path": plugin_path,
        "depends_on": [], "explicit_deps": False, "params": {}, "timeout": None,
        "retries": {"max_attempts": 1, "backoff": 0.5, "max_backoff": 30.0, "jitter": 0.1,
                    "retry_on": ["builtins:Exception"]},
        "resources": {}, "map_over": None, "item_param": "item", "collect_as": None,
        "parallelism": 4,
    }  # fmt: skip
    return {**record, **changes}


def _forge(live: LiveServer, plugin: str | None, nodes: Any,
           *, status: RunStatus = RunStatus.FAILED, **meta: Any) -> str:  # fmt: skip
    """Store a forged pipeline run through ``POST /ingest`` with an operator's worker
    token (a worker may create runs); returns its id."""
    now = time.time()
    run = Run(
        id=new_run_id(), kind=RunKind.PIPELINE, plugin=plugin, action="flow", status=status,
        created_at=now, started_at=now, finished_at=now if status.is_terminal else None,
        heartbeat_at=now, meta={"name": "flow", "nodes": nodes, **meta},
    )  # fmt: skip
    worker = live.http(live.token("operator", "forger", worker=True))
    answer = worker.post(f"{API}/ingest", json={"runs": [run.to_dict()], "events": []})
    assert answer.status_code == 200, answer.text
    return run.id


def _resume(http: httpx.Client, run_id: str) -> httpx.Response:
    return http.post(f"{API}/runs/{run_id}/resume", json={})


def _assert_refused(answer: httpx.Response, *names: str) -> None:
    """A 409 whose message names each of ``names``: never a 5xx, never a traceback."""
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    for name in names:
        assert name in detail, (name, detail)
    assert "Traceback" not in answer.text


# ----------------------------------------------------------------- code outside the catalog
def test_resume_never_imports_a_plugin_folder_outside_the_catalog(
    server: LiveServer, tmp_path: Path
) -> None:
    marker = tmp_path / "imported.txt"
    evil = str(_evil_plugin(tmp_path / "evil", marker))
    http = server.http(server.token("operator"))
    boom = _node("boom", "boom", "plugin.boom:boom", evil)

    # The run names a plugin the catalog does not offer: refused, naming it.
    _assert_refused(_resume(http, _forge(server, "evil", [boom], plugin_path=evil)), "'evil'")
    # A catalog plugin, but an action it does not have: refused, naming both.
    forged = _forge(server, "sim_train", [boom], plugin_path=evil)
    _assert_refused(_resume(http, forged), "'boom'", "'sim_train'")
    # A catalog action whose record points at the evil folder: the catalog's code runs.
    lure = _node("generate", "generate", "plugin.boom:boom", evil, params={"samples": 10})
    answer = _resume(http, _forge(server, "sim_train", [lure], plugin_path=evil))
    assert answer.status_code == 202, answer.text
    resumed = server.client("viewer").wait(answer.json()["run_id"])
    assert resumed.status is RunStatus.SUCCEEDED
    assert resumed.meta["nodes"][0]["plugin_path"] == str(EXAMPLES / "sim_train")
    assert not marker.exists(), "the server imported a folder outside its catalog"


@pytest.fixture
def marker_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable module ``hoist_forged_marker`` whose import writes the marker."""
    marker = tmp_path / "module-imported.txt"
    write_files(tmp_path / "site", {"hoist_forged_marker.py": _marker_code(marker)})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield marker
    sys.modules.pop("hoist_forged_marker", None)


def test_resume_never_imports_a_module_a_record_names(
    server: LiveServer, marker_module: Path
) -> None:
    sys.modules.pop("this", None)
    http = server.http(server.token("operator"))
    # ``this:s`` (the Zen of Python): any installed module, named by a forged record.
    for plugin in (None, "sim_train"):
        answer = _resume(http, _forge(server, plugin, [_node("s", "s", "this:s")]))
        _assert_refused(answer, "'s'" if plugin else "no plugin")
    assert "this" not in sys.modules, "the server imported a module a record named"
    # A catalog action, with the entrypoint and retry exception of a module on sys.path.
    lure = _node(
        "generate", "generate", "hoist_forged_marker:Action", params={"samples": 10},
        retries={"max_attempts": 2, "retry_on": ["hoist_forged_marker:Boom"]},
    )  # fmt: skip
    answer = _resume(http, _forge(server, "sim_train", [lure]))
    assert answer.status_code == 202, answer.text
    assert server.client().wait(answer.json()["run_id"]).status is RunStatus.SUCCEEDED
    assert "hoist_forged_marker" not in sys.modules
    assert not marker_module.exists(), "the server imported a module a record named"


def test_a_corrupt_node_record_is_a_409_naming_the_field(server: LiveServer) -> None:
    http = server.http(server.token("operator"))
    for change, field in (
        ({"parallelism": "many"}, "parallelism"),
        ({"resources": {"tpu": 1}}, "resources"),
        ({"retries": {"max_attempts": 0}}, "max_attempts"),
        ({"timeout": -1}, "timeout"),
        ({"key": None}, "key"),
        ({"depends_on": ["nowhere"], "explicit_deps": True}, "nowhere"),
    ):
        record = _node("generate", "generate", "plugin.data:GenerateAction", **change)
        _assert_refused(_resume(http, _forge(server, "sim_train", [record])), field)
    _assert_refused(_resume(http, _forge(server, "sim_train", [])), "no pipeline nodes")
    answer = _resume(http, _forge(server, "sim_train", "not a list"))
    _assert_refused(answer, "nodes")


def test_resume_never_writes_in_a_working_folder_outside_the_runs_folder(
    server: LiveServer, tmp_path: Path
) -> None:
    """The resumed run goes on writing in the working folder its record names: a forged
    one must not point it at any folder of the machine."""
    outside = tmp_path / "outside"
    http = server.http(server.token("operator"))
    record = _node("generate", "generate", "plugin.data:GenerateAction", params={"samples": 10})
    for working_dir in (str(outside), f"{server.state.runtime.runs_dir}/../../outside"):
        forged = _forge(server, "sim_train", [record], working_dir=working_dir)
        _assert_refused(_resume(http, forged), "working folder")
        _assert_refused(_resume(http, _forge(server, "sim_train", [record], working_dir=7)),
                        "working_dir")  # fmt: skip
    assert not outside.exists()


def test_a_catalog_entrypoint_that_is_not_an_action_is_a_409(
    hoist_home: Path, tmp_path: Path
) -> None:
    plugin = write_files(tmp_path / "plugins" / "odd", {
        "config.yaml": (
            "name: Odd\ncode: odd\nversion: 0.1.0\ncategory: custom\n"
            "actions:\n  value:\n    entrypoint: plugin.things:VALUE\n"
        ),
        "plugin/__init__.py": "",
        "plugin/things.py": "VALUE = 42\n",
    })  # fmt: skip
    settings = server_settings(hoist_home, plugin_paths=(plugin.parent,))
    with serve(settings) as live:
        http = live.http(live.token("operator"))
        forged = _forge(live, "odd", [_node("value", "value", "plugin.things:VALUE")])
        _assert_refused(_resume(http, forged), "'value'", "not an action")


def test_rebuilding_a_record_whose_entrypoint_is_not_an_action_is_a_resume_error() -> None:
    """The local rebuild (``hoist pipeline resume``) trusts its own store's imports, but a
    record naming something that is not an action is a clear error, not a TypeError."""
    record = Run(
        id=new_run_id(), kind=RunKind.PIPELINE, plugin=None, action="flow",
        meta={"nodes": [_node("n", "n", "builtins:len")]},
    )  # fmt: skip
    with pytest.raises(ResumeError, match=r"'n'.*not an action"):
        pipeline_from_run(record)


# ---------------------------------------------------------------------------- stray 500s
def test_artifact_paths_too_long_for_the_file_system_are_a_400(server: LiveServer) -> None:
    http = server.http(server.token("operator"))
    running = _forge(server, "sim_train", [], status=RunStatus.RUNNING)
    for path in ("a" * 5000, "a/" * 2500 + "b", "é" * 200):
        url = f"{API}/runs/{running}/artifacts/{path}"
        for answer in (http.get(url), http.put(url, content=b"x")):
            assert answer.status_code == 400, (path[:8], answer.status_code, answer.text)
            assert "too long" in answer.json()["detail"]
    # A long path that fits is still a file like any other.
    fits = "/".join(["d" * 200] * 4) + "/f.txt"
    url = f"{API}/runs/{running}/artifacts/{fits}"
    assert http.put(url, content=b"fits").status_code == 201
    assert http.get(f"{API}/runs/{running}/artifacts/artifacts/{fits}").content == b"fits"


def _raising_routes(app: FastAPI) -> None:
    codes = {"nametoolong": errno.ENAMETOOLONG, "readonly": errno.EROFS,
             "full": errno.ENOSPC, "denied": errno.EACCES, "missing": errno.ENOENT,
             "io": errno.EIO}  # fmt: skip

    @app.get("/test-os-error/{name}")
    def fail(name: str) -> None:
        raise OSError(codes[name], os.strerror(codes[name]), "/srv/hoist/secret/file")


def test_a_stray_os_error_is_a_clear_4xx_or_503(hoist_home: Path) -> None:
    expected = {"nametoolong": 400, "missing": 404, "readonly": 503, "full": 503,
                "denied": 503, "io": 503}  # fmt: skip
    with serve(server_settings(hoist_home), prepare=_raising_routes) as live:
        http = live.http()
        for name, status in expected.items():
            answer = http.get(f"/test-os-error/{name}")
            assert answer.status_code == status, (name, answer.text)
            body = answer.json()
            assert body["detail"] and "Traceback" not in answer.text
            assert "/srv/hoist/secret" not in answer.text  # no server paths leak
            if status == 503:
                assert body["error_id"] and answer.headers["retry-after"]


# --------------------------------------------------------------------- read-only store
@pytest.fixture
def read_only_postgresql(postgres_url: str) -> Callable[[bool], None]:
    """``make_read_only(on)`` for a PostgreSQL store: new sessions default to read-only
    transactions and the open ones are ended (the server's pool reconnects)."""
    import psycopg

    name = postgres_url.rsplit("/", 1)[1]
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]

    def make_read_only(on: bool) -> None:
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            value = "on" if on else "off"
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )

    return make_read_only


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_login_while_the_store_is_read_only_is_a_503(
    hoist_home: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    changes: dict[str, Any] = {}
    if backend == "postgresql":
        changes["database_url"] = request.getfixturevalue("postgres_url")
    make_read_only = request.getfixturevalue(f"read_only_{backend}")
    with serve(server_settings(hoist_home, **changes)) as live:
        http = live.http()
        body = {"username": "admin", "password": ADMIN_PASSWORD}
        assert http.post(f"{API}/auth/login", json=body).status_code == 200
        make_read_only(True)
        answer = http.post(f"{API}/auth/login", json=body)
        assert answer.status_code == 503, answer.text
        assert answer.json()["detail"].startswith("the run store is")
        assert answer.headers["retry-after"] and "Traceback" not in answer.text
        make_read_only(False)
        assert http.post(f"{API}/auth/login", json=body).status_code == 200
