"""The README's service, as a reader copies it: ``my_service/calc.py`` and
``my_service/app.py`` from its code blocks, launched over HTTP."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from tests.conftest import REPO
from tests.services.conftest import ended, events
from tests.services.test_app import serving


def _blocks() -> dict[str, str]:
    """The README's Python blocks that start with a ``# my_service/...`` path line."""
    text = (REPO / "README.md").read_text()
    found = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        first = block.splitlines()[0]
        if first.startswith("# my_service/"):
            found[first[2:].strip()] = block
    return found


@pytest.fixture
def readme_service(tmp_path: Path) -> Iterator[Path]:
    blocks = _blocks()
    assert set(blocks) == {"my_service/calc.py", "my_service/app.py"}
    (tmp_path / "my_service").mkdir()
    (tmp_path / "my_service" / "__init__.py").write_text("")
    for path, code in blocks.items():
        (tmp_path / path).write_text(code)
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "my_service"]:
            del sys.modules[name]


def test_the_readme_service_runs_as_written(readme_service: Path, runtime: Runtime) -> None:
    import importlib

    app = importlib.import_module("my_service.app").app  # records in the process runtime
    with serving(app) as client:
        assert client.get("/").status_code == 200
        refused = client.post("/", json={"tasks": 501})
        assert refused.status_code == 422
        assert refused.json()["errors"] == {"tasks": ["at most 500 tasks"]}
        launched = client.post("/", json={"tasks": 3})
        assert launched.status_code == 202
        run_id = launched.json()["run_id"]
        # Waited for while the app serves: its shutdown cancels the runs still going.
        run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED and run.result == {"done": 3}
    assert [e.body for e in events(runtime, run_id, "output")] == ["working on `3` tasks"]
    logs = [e.message for e in events(runtime, run_id, "log")]
    assert "print() and stderr become this run's log lines" in logs
