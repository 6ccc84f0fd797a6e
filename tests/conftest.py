"""Shared fixtures: an isolated HOIST_HOME per test, and real services.

A test that needs a service (PostgreSQL, ...) skips when it is unreachable, and fails
instead when ``CI=true``: a missing service can never pass CI silently.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hoist.cli.main import run_cli
from hoist.runs.runtime import Runtime, configure, reset_runtime
from hoist.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
HOIST = [sys.executable, "-m", "hoist.cli"]
REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` (a test plugin, say); returns root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def need(reason: str) -> None:
    """Skip locally, fail under CI, when a real component is missing (in a test, a
    fixture, or at a test module's top)."""
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason, allow_module_level=True)


def engine_command(engine: str, command: str | None = None) -> Path:
    """The ``command`` (default: ``engine``) of a deployment engine's environment that
    ``make engines`` builds under ``.engines/<engine>``; missing: `need`."""
    path = REPO / ".engines" / engine / "bin" / (command or engine)
    if not path.exists():
        need(f"{path} is missing: run `make engines`")
    return path


@pytest.fixture(autouse=True)
def hoist_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own HOIST_HOME and a fresh process runtime (and with it a
    fresh plugin registry and run_plugin executors)."""
    home = tmp_path / "hoist-home"
    monkeypatch.setenv("HOIST_HOME", str(home))
    monkeypatch.delenv("HOIST_DATABASE_URL", raising=False)
    reset_runtime()
    yield home
    reset_runtime()


def chattr(flag: str, path: Path) -> bool:
    """``chattr FLAG PATH``; whether it worked (``+i``: immutable, even for root)."""
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


@pytest.fixture
def read_only_sqlite(hoist_home: Path) -> Iterator[Callable[[bool], None]]:
    """``make_read_only(on)`` for the test's SQLite store: its database and WAL files
    made unwritable even for root (``chattr +i``; not the ``-shm`` file, which SQLite
    maps into memory), undone at teardown. Skips where the process may not."""
    files = [hoist_home / "hoist.db", hoist_home / "hoist.db-wal"]
    frozen: list[Path] = []

    def make_read_only(on: bool) -> None:
        for path in files:
            if on and not chattr("+i", path):
                need("chattr +i needs root (CAP_LINUX_IMMUTABLE) and ext4/xfs/btrfs")
            if on:
                frozen.append(path)
            elif path in frozen:
                chattr("-i", path)
                frozen.remove(path)

    yield make_read_only
    for path in frozen:
        chattr("-i", path)


@pytest.fixture
def runtime(hoist_home: Path) -> Runtime:
    """The process runtime on the test's SQLite store."""
    return configure(Settings(home=hoist_home))


def _postgres_admin_url() -> str:
    return os.environ.get(
        "HOIST_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL, or skip (fail under CI)."""
    try:
        import psycopg
    except ImportError:
        need("psycopg is not installed (pip install 'hoist[postgres]')")
    url = _postgres_admin_url().replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(url, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        need(f"PostgreSQL unreachable at {url}: {exc}")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = f"hoist_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_server.rsplit("/", 1)[0]
    yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def hoist(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``hoist ARGS...`` in-process; returns exit code and captured output."""

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = run_cli(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def hoist_proc(hoist_home: Path) -> Any:
    """Run ``hoist ARGS...`` as a real process (exit codes as a shell sees them)."""

    def call(*args: str, timeout: float = 120, cwd: Path | None = None) -> Result:
        env = {**os.environ, "HOIST_HOME": str(hoist_home), "COLUMNS": "200"}
        proc = subprocess.run(
            [*HOIST, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return call


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A private Ray head on loopback (RAY_AUTH_MODE=disabled), shared by the session
    (one cluster per process: every test folder uses this one)."""
    if importlib.util.find_spec("ray") is None:
        need("ray is not installed (pip install 'hoist[ray]')")
    from hoist.executors.ray.cluster import LOOPBACK_ENV, LocalRayCluster

    # Before anything imports ray: it reads these once, at import.
    os.environ.update(LOOPBACK_ENV)
    # A runtime env that fails to install is tried once, not Ray's default three times
    # (a fresh virtualenv and pip run each): the tests check what Hoist does with the
    # failure, not how often Ray retries. The head inherits it.
    os.environ.setdefault("RUNTIME_ENV_RETRY_TIMES", "1")
    cluster = LocalRayCluster(num_cpus=2)  # its own temp folder, removed when it stops
    try:
        cluster.start()
    except Exception as exc:
        need(f"cannot start a local Ray head: {exc}")
    yield cluster
    import gc

    from hoist.executors.ray.connect import disconnect

    gc.collect()  # pools and executors left by tests end their actors while Ray answers
    disconnect()  # their teardown hooks, then ray.shutdown(): never connected past stop()
    cluster.stop()


RAY_FIXTURES = frozenset({"ray_cluster", "serve_port"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``pytest -n 2 --dist loadgroup`` (what ``make test`` runs): every test that
    uses the session's Ray head goes to one worker (one Ray head on the machine, not
    one per worker), and every other module stays whole on one worker (its module
    fixtures, such as a live server, start once)."""
    for item in items:
        uses_ray = RAY_FIXTURES & set(getattr(item, "fixturenames", ()))
        group = "ray" if uses_ray else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
