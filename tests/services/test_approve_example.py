"""``examples/approve_service``: a draft waits for a person, who approves it or edits it
(an empty edit is refused and the lock stays open); the run ends with the text used."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from tests.conftest import EXAMPLES
from tests.services.conftest import ended, events
from tests.services.test_app import serving
from tests.services.test_locks import open_lock


@pytest.fixture
def app(runtime: Runtime) -> Iterator[Any]:
    """The example's app, imported afresh (it records in the test's runtime)."""
    sys.path.insert(0, str(EXAMPLES))
    for name in ("approve_service.app", "approve_service.draft", "approve_service"):
        sys.modules.pop(name, None)
    try:
        from approve_service.app import app

        yield app
    finally:
        app.close()
        sys.path.remove(str(EXAMPLES))


def answer(client: Any, run_id: str, lock_id: str, values: dict[str, Any]) -> Any:
    return client.post(f"/-/hoist/runs/{run_id}/locks/{lock_id}", json={"values": values})


def test_an_edit_is_used_and_an_empty_one_refused(app: Any, runtime: Runtime) -> None:
    with serving(app) as client:
        run_id = client.post("/", json={"topic": "Hoist 1.0"}).json()["run_id"]
        lock_id = open_lock(runtime, run_id)
        shown = client.get(f"/-/hoist/runs/{run_id}/locks/{lock_id}").json()
        assert "Hoist 1.0" in shown["data"]["draft"]
        empty = answer(client, run_id, lock_id, {"text": "  ", "decision": "edit"})
        assert empty.status_code == 422 and "cannot be empty" in empty.json()["errors"]["text"][0]
        ok = answer(client, run_id, lock_id, {"text": "Hoist 1.0 is out!", "decision": "edit"})
        assert ok.status_code == 200
        run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED and run.result == "Hoist 1.0 is out!"
    assert [e.phase for e in events(runtime, run_id, "lock")] == ["open", "answered"]


def test_an_approval_keeps_the_draft(app: Any, runtime: Runtime) -> None:
    with serving(app) as client:
        run_id = client.post("/", json={"topic": "tea"}).json()["run_id"]
        lock_id = open_lock(runtime, run_id)
        assert answer(client, run_id, lock_id, {"decision": "approve"}).status_code == 200
        run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == "We are glad to announce tea. More soon."
