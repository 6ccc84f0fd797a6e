"""The runs list and a run's page: paging, escaping, live parts, cancel and resume."""

from __future__ import annotations

import html
import re
import time

from hoist.runs.models import (
    ArtifactEvent,
    CustomEvent,
    EventBase,
    LogEvent,
    MessageEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    StepEvent,
    new_run_id,
)
from hoist.server.panel.digest import SHOWN_ARTIFACTS, SHOWN_STEPS
from hoist.server.panel.reads import LOG_PAGE
from tests.panel.conftest import Login, wait_status
from tests.server.conftest import LiveServer

XSS = "<script>alert('x')</script>"


def _store_run(server: LiveServer, events: int = 0, **fields: object) -> Run:
    """A run written straight into the server's store, with ``events`` log events."""
    now = time.time()
    run = Run(id=new_run_id(), plugin="paneltest", action="count", created_at=now, **fields)  # type: ignore[arg-type]
    batch: list[EventBase] = [StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)]
    batch += [
        LogEvent(run_id=run.id, seq=i, ts=now + i / 1000, message=f"line {i}")
        for i in range(2, events + 2)
    ]
    server.state.store.write_batch([run], batch)
    return run


def test_run_page_escapes_and_sanitises_everything(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    store = panel.state.store
    now = time.time()
    run = Run(id=new_run_id(), plugin="<b>plug</b>", action=XSS, created_at=now,
              params={"label": XSS})  # fmt: skip
    events = [
        StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING),
        LogEvent(run_id=run.id, seq=2, ts=now, message=XSS, level="<i>INFO</i>"),
        MessageEvent(
            run_id=run.id,
            seq=3,
            ts=now,
            level='info" onmouseover="x',
            text="**bold** <script>alert('m')</script> "
            "[link](javascript:alert(1)) <img src=x onerror=alert(2)>",
        ),
        MetricsEvent(run_id=run.id, seq=4, ts=now, values={"loss": 0.5}, category=XSS),
        ProgressEvent(run_id=run.id, seq=5, ts=now, current=1, total=2, category=XSS),
        CustomEvent(run_id=run.id, seq=6, ts=now, name=XSS, data={"k": XSS}),
        ResultEvent(run_id=run.id, seq=7, ts=now, value={"html": XSS}),
        StatusEvent(run_id=run.id, seq=8, ts=now, status=RunStatus.SUCCEEDED),
    ]
    store.write_batch([run], events)
    for path in (f"/runs/{run.id}", f"/runs/{run.id}/parts", "/runs"):
        html = http.get(path).text
        assert "<script>alert" not in html, path
        assert not re.search(r"<img|<[^>]*\son(error|mouseover)\s*=", html), path
        assert not re.search(r"href=[\"']?javascript:", html), path
        assert "<b>plug</b>" not in html, path
        assert "&lt;script&gt;alert(" in html or "&lt;script&gt;" in html, path
    page = http.get(f"/runs/{run.id}").text
    assert "<strong>bold</strong>" in page  # Markdown still works
    assert "&lt;b&gt;plug&lt;/b&gt;" in page
    # the metrics JSON inside <script type="application/json"> cannot close the tag
    data = re.search(r'<script type="application/json" data-chart-data>(.*?)</script>', page, re.S)
    assert data and "<" not in data.group(1)


def test_run_page_of_10000_events_renders_one_page(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _store_run(panel, events=9_999)  # seqs 1..10000
    page = http.get(f"/runs/{run.id}")
    assert page.status_code == 200
    seqs = [int(s) for s in re.findall(r'<li class="ev [^"]*" data-seq="(\d+)"', page.text)]
    assert seqs == list(range(10_001 - LOG_PAGE, 10_001))
    first = 10_001 - LOG_PAGE
    assert f'href="/runs/{run.id}?before={first}"' in page.text
    assert 'id="log-total">10000<' in page.text
    assert f'data-first-seq="{first}" data-last-seq="10000"' in page.text

    earlier = http.get(f"/runs/{run.id}", params={"before": first})
    seqs = [int(s) for s in re.findall(r'<li class="ev [^"]*" data-seq="(\d+)"', earlier.text)]
    assert seqs == list(range(first - LOG_PAGE, first))
    assert 'data-live="false"' in earlier.text
    first_page = http.get(f"/runs/{run.id}", params={"before": 5})
    seqs = [int(s) for s in re.findall(r'<li class="ev [^"]*" data-seq="(\d+)"', first_page.text)]
    assert seqs == [1, 2, 3, 4] and "load-earlier" not in first_page.text
    # what the page's "load earlier" script fetches
    api = http.get(f"/api/v1/runs/{run.id}/events", params={"after": first - 1 - LOG_PAGE,
                                                            "limit": LOG_PAGE})  # fmt: skip
    assert [e["seq"] for e in api.json()["events"]] == list(range(first - LOG_PAGE, first))


def test_a_run_page_by_short_id_or_prefix_shows_its_log(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _store_run(panel, events=3)
    for typed in (run.id[-8:], run.id[:12]):
        page = http.get(f"/runs/{typed}")
        assert page.status_code == 200, typed
        seqs = re.findall(r'<li class="ev [^"]*" data-seq="(\d+)"', page.text)
        assert seqs == ["1", "2", "3", "4"], typed
        assert run.id in page.text


def test_a_long_run_s_page_shows_its_newest_steps_and_artifacts(
    panel: LiveServer, login: Login
) -> None:
    http, _ = login("viewer")
    run = _store_run(panel)
    now, batch = time.time(), []
    for i in range(150):  # 150 steps (300 step events), then an artifact each
        seq = 2 + 3 * i
        batch += [
            StepEvent(run_id=run.id, seq=seq, ts=now, step=f"s{i:03}", phase="started"),
            StepEvent(run_id=run.id, seq=seq + 1, ts=now, step=f"s{i:03}", phase="finished"),
            ArtifactEvent(run_id=run.id, seq=seq + 2, ts=now, path=f"ckpt/{i:03}.pt", size=i),
        ]
    batch.append(StepEvent(run_id=run.id, seq=452, ts=now, step="s150", phase="started"))
    panel.state.store.write_batch([], batch)
    page = http.get(f"/runs/{run.id}").text
    assert SHOWN_STEPS == SHOWN_ARTIFACTS == 100
    steps = re.search(r'<ul class="tree" id="run-steps">(.*?)</ul>', page, re.S)
    assert steps is not None
    labels = re.findall(r"s(\d{3})", steps.group(1))
    assert sorted(set(labels)) == [f"{i:03}" for i in range(51, 151)]  # the newest 100
    assert 'id="steps-older"' in page and "The newest 100 steps" in page
    listed = re.findall(r"ckpt/(\d{3})\.pt", page)
    assert sorted(set(listed)) == [f"{i:03}" for i in range(50, 150)]
    assert "50 older artifacts not listed" in page
    short = _store_run(panel)  # a short run: no notes
    panel.state.store.write_batch([], [StepEvent(run_id=short.id, seq=2, ts=now, step="a",
                                                 phase="started")])  # fmt: skip
    page = http.get(f"/runs/{short.id}").text
    assert "steps-older" not in page and "artifacts-older" not in page


def test_runs_list_paginates_and_filters(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    for i in range(30):
        _store_run(panel, kind=RunKind.ACTION if i % 3 else RunKind.PIPELINE)
    first = http.get("/runs")
    assert first.text.count("<tr data-run-id=") == 25
    # "Older" follows a keyset cursor (the last run shown), not an offset
    older = re.search(r'rel="next" href="(/runs\?page=2&amp;cursor=[^"]+)"', first.text)
    assert older is not None
    second = http.get(html.unescape(older.group(1)))
    assert second.text.count("<tr data-run-id=") == 5
    assert 'rel="first" href="/runs?"' in second.text and 'rel="next"' not in second.text
    ids = lambda page: re.findall(r'<tr data-run-id="([^"]+)"', page.text)  # noqa: E731
    assert not set(ids(first)) & set(ids(second))
    assert ids(http.get("/runs", params={"page": 2})) == ids(second)  # a bookmarked page
    too_deep = http.get("/runs", params={"page": 1000})
    assert too_deep.status_code == 400 and "Older" in too_deep.text
    assert http.get("/runs", params={"cursor": "not a cursor"}).status_code == 400
    pipelines = http.get("/runs", params={"kind": "pipeline"})
    assert pipelines.text.count("<tr data-run-id=") == 10
    assert http.get("/runs", params={"status": "bogus"}).status_code == 400


def test_unknown_or_malformed_runs_are_404_pages(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    missing = http.get("/runs/0123456789abcdef")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert http.get("/runs/bad%20id!").status_code == 404
    assert http.get("/plugins/nope/actions/x").status_code == 404


def test_live_parts_and_bars(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _store_run(panel, events=3)
    now = time.time()
    panel.state.store.write_batch([], [
        ProgressEvent(run_id=run.id, seq=5, ts=now, current=3, total=4),
        MessageEvent(run_id=run.id, seq=6, ts=now, text="half *way*"),
    ])  # fmt: skip
    parts = http.get(f"/runs/{run.id}/parts").text
    for section in ("part-header", "part-progress", "part-messages", "part-outcome"):
        assert f'id="{section}"' in parts
    assert 'value="75.0"' in parts and "<em>way</em>" in parts
    bars = http.get("/panel/bars", params={"ids": [run.id, "nope"]}).json()
    assert bars == {run.id: {"status": "running", "state": "running", "percent": 75.0}}


def test_operator_cancels_and_viewer_cannot(panel: LiveServer, login: Login) -> None:
    operator, token = login("operator")
    viewer, viewer_token = login("viewer")
    launched = operator.post(
        "/plugins/paneltest/actions/count",
        data={"csrf_token": token, "steps": "5000", "delay": "0.05", "label": "long"},
    )
    run_id = launched.headers["location"].rsplit("/", 1)[-1]
    page = viewer.get(f"/runs/{run_id}").text
    assert 'id="cancel-run"' not in page
    refused = viewer.post(f"/runs/{run_id}/cancel", data={"csrf_token": viewer_token})
    assert refused.status_code == 403 and "operator" in refused.text
    assert 'id="cancel-run"' in operator.get(f"/runs/{run_id}").text
    response = operator.post(f"/runs/{run_id}/cancel", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == f"/runs/{run_id}"
    assert wait_status(panel, run_id).status is RunStatus.CANCELLED
    again = operator.post(f"/runs/{run_id}/cancel", data={"csrf_token": token})
    assert again.status_code == 303  # already ended: back to its page
    assert "status-cancelled" in operator.get(f"/runs/{run_id}").text


def test_pipeline_run_shows_its_tree_and_resumes(panel: LiveServer, login: Login) -> None:
    http, token = login("operator")
    admin = panel.client("admin")
    run_id = admin.launch("sim_train", pipeline="train_flow",
                          params={"epochs": 2, "sleep_per_epoch": 0})  # fmt: skip
    wait_status(panel, run_id, RunStatus.SUCCEEDED)
    page = http.get(f"/runs/{run_id}").text
    tree = page[page.index('id="run-tree"') :]
    for node in ("generate", "train", "evaluate"):
        assert f'<span class="bar-label">{node}</span>' in tree
    assert 'data-bar="train-step-save_model"' in page  # the action's own steps
    assert "weights.json" in page and "/artifacts/" in page
    assert 'id="resume-run"' not in page  # it succeeded
    refused = http.post(f"/runs/{run_id}/resume", data={"csrf_token": token})
    assert refused.status_code == 409
