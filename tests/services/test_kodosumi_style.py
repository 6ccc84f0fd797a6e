"""Apps written for kodosumi run on Hoist with only their import lines changed.

The apps in ``tests/services/kodosumi_apps/`` are kodosumi sources (they import
``kodosumi.core`` and ``kodosumi.response``). Each test deploys them the way a kodosumi
user would move to Hoist: every ``kodosumi`` import line becomes its ``hoist.services``
twin, and nothing else changes (checked line by line). The deployed package is imported
by its own name (``kodosumi_apps``, the name its entry-point strings use) and each app
runs through its HTTP interface: in-process (ASGI) or under a real uvicorn server, on
the test's SQLite store, with Ray tasks on the session's private cluster.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from hoist._net import free_port
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import InputsError, TracerMock, response
from tests.services.conftest import ended
from tests.services.test_app import nothing_recorded, serving
from tests.waiting import wait_until

APPS = Path(__file__).parent / "kodosumi_apps"
PACKAGE = "kodosumi_apps"

# kodosumi's import lines and their Hoist twins (the only edits a move needs).
_REWRITES = [
    (re.compile(r"^(\s*)from kodosumi(?:\.core)? import "), r"\1from hoist.services import "),
    (re.compile(r"^(\s*)import kodosumi\.core as "), r"\1import hoist.services as "),
]


def hoisted(source: str) -> str:
    """``source`` with each kodosumi import line rewritten to ``hoist.services``."""
    out = []
    for line in source.splitlines(keepends=True):
        for pattern, replacement in _REWRITES:
            line = pattern.sub(replacement, line)
        out.append(line)
    return "".join(out)


def _imported_modules(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _forget_apps() -> None:
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture
def deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: Runtime
) -> Iterator[Callable[[str], ModuleType]]:
    """``deploy(name)``: the app ``name`` imported from the hoisted copy of the package
    (fresh for each test: its ``ServeAPI`` finds the test's runtime on first launch)."""
    root = tmp_path / "deployed"
    package = root / PACKAGE
    package.mkdir(parents=True)
    for source in APPS.glob("*.py"):
        (package / source.name).write_text(hoisted(source.read_text()))
    _forget_apps()
    monkeypatch.syspath_prepend(str(root))
    yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    _forget_apps()


@pytest.fixture
def on_ray(ray_cluster: Any) -> Iterator[Callable[[ModuleType], None]]:
    """Connects this process to the session's cluster; ``ship(module)`` sends the
    module's Ray tasks by value (the deployed folder is not on the workers' path: what
    a runtime environment's ``py_modules`` does for a deployed app)."""
    from hoist.executors.ray.connect import ensure_ray

    ray = ensure_ray(ray_cluster.address)
    shipped: list[ModuleType] = []

    def ship(module: ModuleType) -> None:
        ray.cloudpickle.register_pickle_by_value(module)
        shipped.append(module)

    yield ship
    for module in shipped:
        ray.cloudpickle.unregister_pickle_by_value(module)


@contextlib.contextmanager
def uvicorn_serving(app: Any) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free loopback port until the block ends;
    its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_config=None,
        log_level="warning", timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        return bool(server.started)

    wait_until(started, 20, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        assert not thread.is_alive(), "uvicorn did not stop"


def outputs(runtime: Runtime, run_id: str) -> list[tuple[str, Any, str | None, str]]:
    """The run's outputs as ``(format, body, model, role)``, in log order."""
    return [
        (e.format, e.body, e.model, e.role)
        for e in runtime.store.events(run_id)
        if e.type == "output"
    ]


def logs(runtime: Runtime, run_id: str) -> list[tuple[str, str, str | None]]:
    """The run's log lines as ``(level, message, logger)``, in log order."""
    return [(e.level, e.message, e.logger) for e in runtime.store.events(run_id) if e.type == "log"]


def result_of(runtime: Runtime, run_id: str) -> tuple[Any, str | None]:
    (event,) = [e for e in runtime.store.events(run_id) if e.type == "result"]
    return event.value, event.model


def launched(answer: httpx.Response, runtime: Runtime) -> Run:
    assert answer.status_code == 202, answer.text
    return ended(runtime, answer.json()["run_id"], timeout=120)


# ---------------------------------------------------------------------- the move
@pytest.mark.parametrize("path", sorted(APPS.glob("*.py")), ids=lambda p: p.stem)
def test_only_the_import_lines_change(path: Path) -> None:
    source = path.read_text()
    moved = hoisted(source)
    before, after = source.splitlines(), moved.splitlines()
    assert len(before) == len(after)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    if path.stem == "__init__":
        assert changed == []
        return
    assert changed, f"{path.name} imports nothing from kodosumi"
    for old, new in changed:
        assert re.match(r"\s*(from|import) kodosumi\b", old), old
        assert re.match(r"\s*(from|import) hoist\.services\b", new), new
    assert not {m for m in _imported_modules(moved) if m.split(".")[0] == "kodosumi"}
    compile(moved, path.name, "exec")


def test_kodosumi_call_forms_beyond_the_apps() -> None:
    """kodosumi's other call forms: a list of lines as a typed result, positional bodies,
    an ``InputsError`` that is false until a message is added (``flash`` for the whole
    form), ``tracer.init()``, and warnings with the handled exception's traceback."""
    assert response.Markdown(["#### Found", "* 153"]).body == "#### Found\n* 153"
    assert response.HTML("<b>hi</b>") == response.HTML(body="<b>hi</b>")
    assert response.Text("plain").body == "plain"
    error = InputsError()
    assert not error and not error.has_errors()
    assert error.flash("Something is off.") is error
    assert error and error.errors == {"_global_": ["Something is off."]}
    tracer = TracerMock()
    tracer.init()

    async def warn() -> None:
        try:
            {}["missing"]
        except KeyError:
            tracer.warning_sync("lookup failed", "in sync", exc_info=True)
            await tracer.warning("lookup failed", "in async", exc_info=True)
        await tracer.debug("no", "traceback")

    asyncio.run(warn())
    (level, sync), (_, async_), debug = tracer.logs
    for message, where in ((sync, "sync"), (async_, "async")):
        assert message.startswith(f"lookup failed\nin {where}\nTraceback (most recent call")
        assert message.endswith("KeyError: 'missing'")
    assert level == "WARNING" and debug == ("DEBUG", "no\ntraceback")


# ---------------------------------------------------------------------- survey
def test_survey_serves_its_form_with_every_element(deploy: Callable[[str], ModuleType]) -> None:
    survey = deploy("survey")
    with serving(survey.app) as client:
        form = client.get("/").json()
    kinds = [e["type"] for e in form["elements"]]
    assert kinds == [
        "markdown", "errors", "break", "text", "number", "textarea", "date", "select",
        "checkbox", "hr", "submit", "cancel",
    ]  # fmt: skip
    by_name = {e["name"]: e for e in form["elements"] if "name" in e}
    assert [o["name"] for o in by_name["mood"]["option"]] == ["good", "meh", "bad"]
    assert by_name["mood"]["value"] == "good"
    assert by_name["remote"]["option"] == "The team works remotely"
    assert form["schema"]["required"] == ["team"]
    assert form["elements"][0]["text"].lstrip().startswith("# Team Survey")


def test_survey_refuses_with_field_and_global_messages_and_launches_nothing(
    deploy: Callable[[str], ModuleType], runtime: Runtime
) -> None:
    survey = deploy("survey")
    with serving(survey.app) as client:
        nobody = client.post("/", json={"team": "nobody"})
        bad = client.post("/", json={"team": "Core", "mood": "bad"})
        missing = client.post("/", data={"mood": "meh"})  # a form post without the team
        wrong = client.post("/", json={"team": "Core", "size": 99, "mood": "great"})
    assert nobody.status_code == 422
    assert nobody.json()["errors"] == {"team": ["Please name a real team."]}
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "notes": ["Tell us what went wrong."],
        "_global_": ["A bad mood needs a note."],
    }
    assert any(e["type"] == "errors" for e in bad.json()["elements"])  # where _global_ goes
    assert missing.status_code == 422 and set(missing.json()["errors"]) == {"team"}
    assert wrong.status_code == 422 and set(wrong.json()["errors"]) == {"size", "mood"}
    assert nothing_recorded(runtime)


def test_survey_runs_its_async_entry_point_with_every_tracer_call(
    deploy: Callable[[str], ModuleType], runtime: Runtime
) -> None:
    survey = deploy("survey")
    body = {"team": "Core", "size": "4", "notes": "shipped it", "mood": "meh", "remote": True}
    with serving(survey.app) as client:
        run = launched(client.post("/", json=body), runtime)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.kind == "service" and run.meta["service"]["summary"] == "Team Survey"
    assert run.meta["service"]["author"] == "survey@example.org"
    assert run.meta["service"]["entry_point"].endswith("kodosumi_apps.survey:score")
    assert run.params["size"] == 4 and run.params["remote"] is True  # coerced by the form
    assert outputs(runtime, run.id) == [
        ("markdown", "## Core\n\nMood: **meh**", "Markdown", "result"),
        ("html", "<p><b>Core</b> answered the survey</p>", "HTML", "result"),
        ("text", "Notes:\nshipped it", "Text", "result"),
        ("json", {"step": "score", "team": "Core"}, None, "action"),
        ("json", {"team": "Core", "points": 8}, None, "result"),
    ]
    lines = logs(runtime, run.id)
    assert ("DEBUG", "survey of Core\nsize 4", "tracer") in lines
    assert ("WARNING", "remote teams are scored\nthe same as others", "tracer") in lines
    assert ("INFO", "scored Core: 8", "stdout") in lines
    assert result_of(runtime, run.id) == ("# Survey of Core\n\n**8** points", "Markdown")


# ---------------------------------------------------------------------- ratio
def test_ratio_runs_a_sync_entry_point_launched_by_name(
    deploy: Callable[[str], ModuleType], runtime: Runtime
) -> None:
    ratio = deploy("ratio")
    with serving(ratio.app) as client:
        refused = client.post("/", json={"a": "one", "b": "4"})
        run = launched(client.post("/", data={"a": "3", "b": "4"}), runtime)
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"a": ["Must be a number"]}
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.meta["service"]["entry_point"] == "kodosumi_apps.ratio:divide"
    assert run.meta["service"]["version"] == "0.2.0"
    assert outputs(runtime, run.id) == [
        ("markdown", "dividing `3` by `4`", "Markdown", "result"),
        ("text", "ratio = 0.75", "Text", "result"),
    ]
    assert ("INFO", "3 / 4", "stdout") in logs(runtime, run.id)
    assert result_of(runtime, run.id) == ("# Ratio\n\n3 / 4 = **0.75**", "Markdown")


def test_ratio_division_by_zero_fails_the_run_with_message_and_traceback(
    deploy: Callable[[str], ModuleType], runtime: Runtime
) -> None:
    ratio = deploy("ratio")
    with serving(ratio.app) as client:
        run = launched(client.post("/", json={"a": "1", "b": "0"}), runtime)
    assert run.status == RunStatus.FAILED
    assert run.error is not None
    assert run.error["type"] == "ZeroDivisionError"
    assert run.error["message"] == "float division by zero"
    (error,) = [e for e in runtime.store.events(run.id) if e.type == "error"]
    assert "ratio.py" in error.traceback and "ratio = a / b" in error.traceback
    assert outputs(runtime, run.id) == [("markdown", "dividing `1` by `0`", "Markdown", "result")]


def test_ratio_main_runs_the_entry_point_with_a_tracer_mock(
    deploy: Callable[[str], ModuleType],
) -> None:
    result, tracer = deploy("ratio").main()
    assert isinstance(tracer, TracerMock)
    assert result == response.Markdown("# Ratio\n\n3 / 4 = **0.75**")
    assert tracer.markdowns == ["dividing `3` by `4`"]
    assert [o["format"] for o in tracer.outputs] == ["markdown", "text"]


# ---------------------------------------------------------------------- prime (Ray)
def _check_prime_run(runtime: Runtime, run: Run) -> None:
    assert run.status == RunStatus.SUCCEEDED, run.error
    shown = outputs(runtime, run.id)
    chunk_lines = [body for _f, body, _m, _r in shown if body.startswith("* `")]
    assert sorted(chunk_lines) == [
        "* `0..250`: 53 primes", "* `250..500`: 42 primes", "* `500..750`: 37 primes",
        "* `750..1000`: 36 primes",
    ]  # fmt: skip
    # The entry point's own line comes after every line its tasks traced.
    assert shown[-1] == ("markdown", "**168** primes found", "Markdown", "result")
    assert all(model == "Markdown" for _f, _b, model, _r in shown)
    debug = [message for level, message, _ in logs(runtime, run.id) if level == "DEBUG"]
    assert sorted(debug) == [f"counting {lo}..{lo + 250}" for lo in (0, 250, 500, 750)]
    assert result_of(runtime, run.id) == ("# Primes\n\n168 primes in [0, 1000)", "Markdown")
    events = runtime.store.events(run.id)
    assert events[-1].type == "status" and events[-1].status == RunStatus.SUCCEEDED


def test_prime_sync_entry_point_fans_out_on_ray_under_uvicorn(
    deploy: Callable[[str], ModuleType], on_ray: Callable[[ModuleType], None], runtime: Runtime
) -> None:
    prime = deploy("prime")
    on_ray(prime)
    with uvicorn_serving(prime.app) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/").status_code == 200
        empty = http.post("/", json={"start": 10, "end": 10})
        too_far = http.post("/", json={"start": 10, "end": 10**6})
        run = launched(http.post("/", json={"start": 0, "end": 1000, "tasks": 4}), runtime)
    assert empty.status_code == 422
    assert empty.json()["errors"] == {"_global_": ["The range is empty: start must be below end."]}
    assert too_far.status_code == 422
    assert too_far.json()["errors"] == {"end": ["At most 100000, please."]}
    assert run.meta["service"]["entry_point"] == "kodosumi_apps.prime:run"
    _check_prime_run(runtime, run)


def test_prime_async_entry_point_awaits_its_ray_tasks(
    deploy: Callable[[str], ModuleType], on_ray: Callable[[ModuleType], None], runtime: Runtime
) -> None:
    prime = deploy("prime")
    on_ray(prime)
    with serving(prime.app) as client:
        run = launched(client.post("/async", json={"start": 0, "end": 1000}), runtime)
    assert run.meta["service"]["summary"] == "Prime Counter (async)"
    assert run.params == {"start": 0, "end": 1000, "tasks": 4}  # the form's default
    _check_prime_run(runtime, run)
