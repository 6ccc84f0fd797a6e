"""A run waiting for a person on its page: the ``awaiting`` status, an open lock's form
(rendered on the server from the elements its ``lock(open)`` event carries, sanitised),
who may answer, the answer's route (CSRF, errors by field, a lock that is gone, a
service that does not answer) and the history of answers."""

from __future__ import annotations

import html
import re
import time
from typing import Any

from hoist import forms as F
from hoist._net import free_port
from hoist.runs.models import (
    EventBase,
    LockEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    new_run_id,
)
from hoist.services.forms_io import elements_json
from tests.panel.conftest import Login
from tests.server.conftest import LiveServer

FORM = F.Model(
    F.Markdown("Approve the **draft**? <script>window.pwned = 1</script>"),
    F.InputText(name="title", label="Title <i>x</i>", required=True, max_length=20),
    F.InputNumber(name="copies", integer=True, value=1),
    F.Checkbox(name="approve", option="Approve it"),
    F.Submit("Send"),
)
DANGER = re.compile(r"<script>window|<[^>]*\son(error|click)\s*=")


def _awaiting_run(
    server: LiveServer, *, user: str | None = None, service_url: str | None = None,
    answered: bool = False,
) -> Run:  # fmt: skip
    """A service run written straight into the store: running, a lock opened, awaiting
    (and, if asked, a first lock answered before)."""
    now = time.time()
    meta: dict[str, Any] = {"service": {"name": "drafts", "path": "/",
                                        "url": service_url or "http://127.0.0.1:9/"}}  # fmt: skip
    if user:
        meta["user"] = user
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, plugin="drafts", action="Draft",
              mode="service", created_at=now, status=RunStatus.QUEUED, meta=meta)  # fmt: skip
    events: list[EventBase] = [StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)]

    def add(**fields: Any) -> None:
        events.append(LockEvent(run_id=run.id, seq=len(events) + 1, ts=now, **fields))

    if answered:
        add(lock_id="first", name="intro", phase="open", elements=elements_json(FORM))
        add(lock_id="first", name="intro", phase="answered", answer={"title": "<b>t</b>"},
            user="ann")  # fmt: skip
    add(lock_id="lk1", name="review", phase="open", data={"draft": "<b>hello</b>"},
        elements=elements_json(FORM), expires_at=now + 3600)  # fmt: skip
    events.append(StatusEvent(run_id=run.id, seq=len(events) + 1, ts=now,
                              status=RunStatus.AWAITING))  # fmt: skip
    server.state.store.write_batch([run], events)
    return run


def _section(page: str, ident: str) -> str:
    start = page.index(f'id="{ident}"')
    return page[start : page.index("</section>", start)]


def test_an_awaiting_run_shows_its_open_lock_form(panel: LiveServer, login: Login) -> None:
    http, csrf = login("operator")
    run = _awaiting_run(panel, answered=True)
    page = http.get(f"/runs/{run.id}")
    assert page.status_code == 200
    assert DANGER.search(page.text) is None  # the service's markdown was sanitised
    header = _section(page.text, "part-header")
    assert 'class="badge status-awaiting"' in header and 'id="awaiting-note"' in header
    locks = _section(page.text, "part-locks")
    assert f'action="/runs/{run.id}/locks/lk1"' in locks
    assert f'name="csrf_token" value="{csrf}"' in locks
    assert 'id="field-title"' in locks and 'id="field-copies"' in locks
    assert "<strong>draft</strong>" in locks  # Markdown rendered
    assert "Title &lt;i&gt;x&lt;/i&gt;" in locks  # a label is text
    assert "&lt;b&gt;hello&lt;/b&gt;" in locks  # the lock's data, escaped
    history = locks[locks.index('id="lock-history"') :]
    assert "intro" in history and "answered" in history and "ann" in history
    assert "lk1" not in history
    version = re.search(r'id="part-locks"[^>]*data-version="(\d+)"', page.text)
    assert version and version.group(1) == "4"


def test_only_the_launcher_or_an_operator_may_answer(panel: LiveServer, login: Login) -> None:
    http, csrf = login("viewer")
    someone_else = _awaiting_run(panel, user="not-me")
    locks = _section(http.get(f"/runs/{someone_else.id}").text, "part-locks")
    assert "<fieldset disabled" in locks and 'name="csrf_token"' not in locks
    refused = http.post(f"/runs/{someone_else.id}/locks/lk1",
                        data={"csrf_token": csrf, "title": "x"})  # fmt: skip
    assert refused.status_code == 403

    me = panel.state.users.list()[-1].username  # the viewer who just logged in
    mine = _awaiting_run(panel, user=me)
    locks = _section(http.get(f"/runs/{mine.id}").text, "part-locks")
    assert "<fieldset disabled" not in locks and f'name="csrf_token" value="{csrf}"' in locks
    assert "answer it below" in _section(http.get(f"/runs/{mine.id}").text, "part-header")


def test_an_answer_needs_the_csrf_token(panel: LiveServer, login: Login) -> None:
    http, _ = login("operator")
    run = _awaiting_run(panel)
    assert http.post(f"/runs/{run.id}/locks/lk1", data={"title": "x"}).status_code == 403


def test_invalid_inputs_come_back_next_to_their_fields(panel: LiveServer, login: Login) -> None:
    http, csrf = login("operator")
    run = _awaiting_run(panel)
    data = {"csrf_token": csrf, "title": "", "copies": "two"}
    page = http.post(f"/runs/{run.id}/locks/lk1", data=data)
    assert page.status_code == 422
    locks = _section(page.text, "part-locks")
    title = locks[locks.index('data-field="title"') :]
    assert "ul" in title[: title.index("</div>")] and 'class="errors"' in title
    copies = locks[locks.index('data-field="copies"') :]
    assert 'class="errors"' in copies[: copies.index("</div>")]
    assert 'value="two"' in locks  # what was typed is kept


def test_an_answer_to_a_lock_that_is_gone_says_so(panel: LiveServer, login: Login) -> None:
    http, csrf = login("operator")
    run = _awaiting_run(panel, answered=True)
    page = http.post(f"/runs/{run.id}/locks/first", data={"csrf_token": csrf, "title": "t"})
    assert page.status_code == 409
    assert "no longer open" in _section(page.text, "part-locks")
    unknown = http.post(f"/runs/{run.id}/locks/nosuch", data={"csrf_token": csrf})
    assert unknown.status_code == 409
    bad_id = http.post(f"/runs/{run.id}/locks/..%2Fx", data={"csrf_token": csrf})
    assert bad_id.status_code == 404


def test_a_service_that_does_not_answer_is_said_on_the_page(
    panel: LiveServer, login: Login
) -> None:
    http, csrf = login("operator")
    url = f"http://127.0.0.1:{free_port()}/"
    unregistered = _awaiting_run(panel, service_url=url)
    page = http.post(f"/runs/{unregistered.id}/locks/lk1",
                     data={"csrf_token": csrf, "title": "ok", "copies": "2"})  # fmt: skip
    assert page.status_code == 502
    assert "is not registered" in html.unescape(_section(page.text, "part-locks"))
    panel.state.services.add(url + "openapi.json")  # registered, but nothing listens there
    run = _awaiting_run(panel, service_url=url)
    page = http.post(f"/runs/{run.id}/locks/lk1",
                     data={"csrf_token": csrf, "title": "ok", "copies": "2"})  # fmt: skip
    assert page.status_code == 502
    notice = html.unescape(_section(page.text, "part-locks"))
    assert "did not reach the service" in notice and "cannot be reached" in notice


def test_the_live_parts_carry_the_locks(panel: LiveServer, login: Login) -> None:
    http, _ = login("operator")
    run = _awaiting_run(panel)
    parts = http.get(f"/runs/{run.id}/parts").text
    assert 'id="field-title"' in _section(parts, "part-locks")
    plain = _awaiting_run(panel)
    panel.state.store.write_batch([], [
        LockEvent(run_id=plain.id, seq=4, ts=time.time(), lock_id="lk1", name="review",
                  phase="expired"),
    ])  # fmt: skip
    locks = _section(http.get(f"/runs/{plain.id}/parts").text, "part-locks")
    assert 'id="field-title"' not in locks and "expired" in locks


def test_awaiting_runs_are_filtered_and_set_apart(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _awaiting_run(panel)
    listed = http.get("/runs", params={"status": "awaiting"}).text
    assert f'data-run-id="{run.id}" data-status="awaiting"' in listed
    assert '<option value="awaiting" selected>' in listed
    assert run.id not in http.get("/runs", params={"status": "running"}).text
