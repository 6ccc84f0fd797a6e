"""Launching pipelines and choosing the mode from the panel, Run again / Retry and the
prefilled form, over HTTP; the favicon and strict bounds in forms."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.runs.models import RunKind, RunStatus
from tests.conftest import need
from tests.panel.conftest import PASSWORD, Login, add_user, csrf_of, wait_status
from tests.panel.launching import panel, write_launch_plugin  # noqa: F401 (a fixture)
from tests.server.conftest import LiveServer, serve, server_settings

FLOW = "/plugins/launchtest/pipelines/flow"
GREET = "/plugins/launchtest/actions/greet"


def _field(html: str, name: str) -> str:
    found = re.search(rf'<div class="field [^"]*" data-field="{re.escape(name)}">.*?</div>', html,
                      re.S)  # fmt: skip
    assert found, f"no field {name}"
    return found.group(0)


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', _field(html, "_mode"))


def _launched(location: str) -> str:
    assert re.fullmatch(r"/runs/[0-9a-f]{24}", location), location
    return location.rsplit("/", 1)[-1]


def test_the_favicon_is_served_and_linked(panel: LiveServer, login: Login) -> None:  # noqa: F811
    http, _ = login("viewer")
    icon = http.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml") and "<svg" in icon.text
    assert re.search(r'<link rel="icon" href="/static/favicon\.svg[^"]*" type="image/svg\+xml">',
                     http.get("/runs").text)  # fmt: skip


def test_a_strict_minimum_shows_as_strict(panel: LiveServer, login: Login) -> None:  # noqa: F811
    http, _ = login("viewer")
    page = http.get("/plugins/sim_train/actions/generate").text
    noise = _field(page, "noise")  # Field(gt=0, le=5)
    assert "&gt; 0 · ≤ 5" in noise and "≥ 0" not in noise
    assert "≥ 10 · ≤ 100000" in _field(page, "samples")  # ge=10, le=100_000


def test_a_pipeline_launches_from_its_first_actions_form(
    panel: LiveServer,  # noqa: F811
    login: Login,
) -> None:
    http, token = login("operator")
    plugins = http.get("/plugins").text
    assert f'href="{FLOW}"' in plugins
    page = http.get(FLOW).text
    assert "greet → shout" in page and f'action="{FLOW}"' in page
    assert {"name", "times", "rate", "fail"} <= set(re.findall(r'data-field="(\w+)"', page))
    assert "&gt; 0" in _field(page, "rate")

    bad = http.post(FLOW, data={"csrf_token": token, "name": "x", "times": "0", "rate": "0"})
    assert bad.status_code == 422
    assert "has-error" in _field(bad.text, "times") and "has-error" in _field(bad.text, "rate")
    assert not panel.state.store.list_runs()

    posted = {"csrf_token": token, "name": "ada", "times": "2", "rate": "0.5", "_mode": ""}
    response = http.post(FLOW, data=posted)
    assert response.status_code == 303, response.text
    run = wait_status(panel, _launched(response.headers["location"]), RunStatus.SUCCEEDED)
    assert run.kind == RunKind.PIPELINE and run.mode == "local"
    assert run.params == {"name": "ada", "times": 2, "rate": 0.5, "fail": False}
    assert run.meta["pipeline"] == "flow" and run.plugin == "launchtest"
    edit = http.get(f"/runs/{run.id}/rerun").text  # the pipeline's form, prefilled
    assert f'action="{FLOW}?from={run.id}"' in edit and 'value="ada"' in _field(edit, "name")
    assert 'value="0.5"' in _field(edit, "rate") and "type them again" not in edit


def test_without_a_ray_cluster_only_local_mode_is_offered_or_taken(
    panel: LiveServer,  # noqa: F811
    login: Login,
) -> None:
    http, token = login("operator")
    page = http.get(GREET).text
    assert _options(page) == ["", "local"]
    assert "HOIST_RAY_ADDRESS" in _field(page, "_mode")  # the help says why
    for mode in ("task", "job", "serve", "nonsense"):
        refused = http.post(GREET, data={"csrf_token": token, "name": "x", "_mode": mode})
        assert refused.status_code == 422, mode
        assert "does not offer" in _field(refused.text, "_mode")
        assert f'<option value="{mode}"' not in refused.text  # never echoed as a choice
    assert not panel.state.store.list_runs()  # nothing started
    ok = http.post(GREET, data={"csrf_token": token, "name": "x", "_mode": "local"})
    assert ok.status_code == 303


@pytest.fixture
def ray_panel(hoist_home: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A server configured with a Ray cluster address (never contacted here)."""
    settings = server_settings(hoist_home, ray_address="127.0.0.1:9")
    with serve(settings, keepalive=0.5) as live:
        yield live


def test_with_a_ray_cluster_task_and_job_are_offered(ray_panel: LiveServer) -> None:
    if importlib.util.find_spec("ray") is None:  # never imported here: see ray_cluster
        need("ray is not installed (pip install 'hoist[ray]')")
    http = ray_panel.http()
    name = add_user(ray_panel, "operator")
    form = csrf_of(http.get("/login").text)
    http.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": form})
    page = http.get("/plugins/sim_train/actions/train").text
    assert _options(page) == ["", "local", "task", "job"]
    assert "127.0.0.1:9" in _field(page, "_mode")


def test_run_again_repeats_params_and_mode_behind_csrf(
    panel: LiveServer,  # noqa: F811
    login: Login,
) -> None:
    http, token = login("operator")
    first = http.post(GREET, data={"csrf_token": token, "name": "bob", "times": "3"})
    old = wait_status(panel, _launched(first.headers["location"]))
    page = http.get(f"/runs/{old.id}").text
    assert f'action="/runs/{old.id}/rerun"' in page and 'id="rerun-run"' in page
    assert f'href="/runs/{old.id}/rerun"' in page
    assert http.post(f"/runs/{old.id}/rerun", data={}).status_code == 403  # no CSRF token
    again = http.post(f"/runs/{old.id}/rerun", data={"csrf_token": token})
    assert again.status_code == 303
    new = wait_status(panel, _launched(again.headers["location"]), RunStatus.SUCCEEDED)
    assert new.id != old.id and new.params == old.params and new.mode == old.mode
    assert new.result == {"greeting": "hello bob hello bob hello bob"}


def test_viewers_cannot_run_again(panel: LiveServer, login: Login) -> None:  # noqa: F811
    operator, token = login("operator")
    run_id = _launched(operator.post(GREET, data={"csrf_token": token}).headers["location"])
    wait_status(panel, run_id)
    viewer, viewer_token = login("viewer")
    assert 'id="rerun-run"' not in viewer.get(f"/runs/{run_id}").text
    refused = viewer.post(f"/runs/{run_id}/rerun", data={"csrf_token": viewer_token})
    assert refused.status_code == 403
    assert len(panel.state.store.list_runs()) == 1


def test_a_failed_run_offers_retry(panel: LiveServer, login: Login) -> None:  # noqa: F811
    http, token = login("operator")
    response = http.post(GREET, data={"csrf_token": token, "name": "eve", "fail": "on"})
    run = wait_status(panel, _launched(response.headers["location"]), RunStatus.FAILED)
    page = http.get(f"/runs/{run.id}").text
    assert 'id="retry-run"' in page and 'id="rerun-run"' not in page
    retried = http.post(f"/runs/{run.id}/rerun", data={"csrf_token": token})
    new = wait_status(panel, _launched(retried.headers["location"]), RunStatus.FAILED)
    assert new.id != run.id and new.params == run.params


def test_a_run_with_secrets_is_run_again_through_its_form(
    panel: LiveServer,  # noqa: F811
    login: Login,
) -> None:
    http, token = login("operator")
    url = "/plugins/launchtest/actions/keyed"
    response = http.post(url, data={"csrf_token": token, "token": "s3cret-value", "n": "4"})
    run = wait_status(panel, _launched(response.headers["location"]), RunStatus.SUCCEEDED)
    assert run.params["token"] != "s3cret-value"  # the record masks it
    again = http.post(f"/runs/{run.id}/rerun", data={"csrf_token": token})
    assert again.status_code == 303 and again.headers["location"] == f"/runs/{run.id}/rerun"
    page = http.get(again.headers["location"]).text
    assert "type them again" in page and f'action="{url}?from={run.id}"' in page
    assert 'value="4"' in _field(page, "n")
    assert "value=" not in _field(page, "token") and "s3cret" not in page
    assert len(panel.state.store.list_runs()) == 1  # nothing replayed the masked value


def test_a_run_that_cannot_be_run_again_says_so(
    panel: LiveServer,  # noqa: F811
    login: Login,
) -> None:
    from hoist.runs.models import Run, new_run_id

    run = Run(id=new_run_id(), kind=RunKind.SERVICE, plugin="launchtest", action="x")
    panel.state.store.write_batch([run], [])
    http, token = login("operator")
    assert 'id="rerun-run"' not in http.get(f"/runs/{run.id}").text
    refused = http.post(f"/runs/{run.id}/rerun", data={"csrf_token": token})
    assert refused.status_code == 400 and "cannot be run again" in refused.text


@pytest.fixture
def cluster_panel(hoist_home: Path, tmp_path: Path, ray_cluster: Any) -> Iterator[LiveServer]:
    """A server configured with the session's Ray head, serving ``launchtest``."""
    plugins = tmp_path / "plugins"
    write_launch_plugin(plugins)
    settings = server_settings(hoist_home, ray_address=ray_cluster.address)
    settings = settings.with_(plugin_paths=(*settings.plugin_paths, plugins))
    with serve(settings, keepalive=0.5) as live:
        yield live


def test_task_mode_chosen_in_the_form_runs_on_the_cluster_and_again(
    cluster_panel: LiveServer,
) -> None:
    http = cluster_panel.http()
    name = add_user(cluster_panel, "operator")
    form = csrf_of(http.get("/login").text)
    http.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": form})
    page = http.get(GREET).text
    assert _options(page) == ["", "local", "task", "job"]
    token = csrf_of(page)
    response = http.post(GREET, data={"csrf_token": token, "name": "ray", "_mode": "task"})
    assert response.status_code == 303, response.text
    run = wait_status(cluster_panel, _launched(response.headers["location"]), RunStatus.SUCCEEDED)
    assert run.mode == "task" and run.result == {"greeting": "hello ray"}
    again = http.post(f"/runs/{run.id}/rerun", data={"csrf_token": token})
    new = wait_status(cluster_panel, _launched(again.headers["location"]), RunStatus.SUCCEEDED)
    assert new.mode == "task" and new.params == run.params


def test_an_edited_rerun_keeps_params_its_form_does_not_show(
    panel: LiveServer,  # noqa: F811
    login: Login,
) -> None:
    api = panel.client("operator")
    params = {"name": "api", "times": 1, "greeting": "for the second action"}
    old = wait_status(panel, api.launch("launchtest", pipeline="flow", params=params))
    assert old.params["greeting"] == "for the second action"
    http, token = login("operator")
    page = http.get(f"/runs/{old.id}/rerun").text
    assert f'action="{FLOW}?from={old.id}"' in page
    assert "Kept from that run" in page and "<code>greeting</code>" in page
    response = http.post(f"{FLOW}?from={old.id}",
                         data={"csrf_token": token, "name": "edited", "times": "2"})  # fmt: skip
    assert response.status_code == 303, response.text
    new = wait_status(panel, _launched(response.headers["location"]), RunStatus.SUCCEEDED)
    assert new.params["greeting"] == "for the second action"
    assert new.params["name"] == "edited" and new.params["times"] == 2
    # Invalid input comes back to the same form, still carrying the run it came from.
    bad = http.post(f"{FLOW}?from={old.id}", data={"csrf_token": token, "times": "0"})
    assert bad.status_code == 422 and f'action="{FLOW}?from={old.id}"' in bad.text
