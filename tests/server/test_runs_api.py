"""Runs over HTTP: launch (actions and pipelines), read, list, cancel, resume, events,
and files of the run folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoist.client import ConflictError, HoistClient, calls
from hoist.errors import (
    NotFoundError,
    ParamsValidationError,
    PluginNotFoundError,
    RunNotFoundError,
)
from hoist.runs.models import RunStatus
from hoist.runs.short_ids import short_id
from tests.conftest import write_files
from tests.server.conftest import LiveServer, serve, server_settings
from tests.waiting import wait_until

API = "/api/v1"


def test_plugins_and_action_schemas(admin: HoistClient) -> None:
    codes = [p["code"] for p in admin.list_plugins()]
    assert codes == ["detect_shapes", "sim_train", "text_stats"]
    plugin = admin.get_plugin("sim_train")
    assert plugin["pipelines"][0]["name"] == "train_flow"
    train = next(a for a in plugin["actions"] if a["name"] == "train")
    assert train["params_schema"]["properties"]["epochs"]["maximum"] == 1000
    assert "accuracy" in train["result_schema"]["properties"]
    assert admin.get_action("text_stats", "word_count")["params_schema"]["properties"]["text"]
    with pytest.raises(PluginNotFoundError):
        admin.get_plugin("nope")
    with pytest.raises(NotFoundError, match="unknown action"):
        admin.get_action("sim_train", "nope")


def test_launch_answers_202_with_location(server: LiveServer) -> None:
    http = server.http(server.token("operator"))
    body = {"plugin": "text_stats", "action": "word_count", "params": {"text": "a b a"}}
    response = http.post(f"{API}/runs", json=body)
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    assert response.headers["location"] == f"{API}/runs/{run_id}"
    run = http.get(response.headers["location"]).json()  # stored at once
    assert run["plugin"] == "text_stats" and run["action"] == "word_count"


def test_launch_and_follow_an_action(admin: HoistClient) -> None:
    run_id = admin.launch("sim_train", "train", params={"epochs": 3, "sleep_per_epoch": 0})
    run = admin.wait(run_id)
    assert run.status is RunStatus.SUCCEEDED and run.result["epochs"] == 3
    events = admin.events(run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "status" and events[-1].status is RunStatus.SUCCEEDED
    first, more = admin.send(calls.events_page(run_id, 0, 5))
    assert [e.seq for e in first] == [1, 2, 3, 4, 5] and more
    assert [e.seq for e in admin.events(run_id, after=len(events) - 2)] == [
        len(events) - 1,
        len(events),
    ]


def test_bad_params_name_every_failing_field(admin: HoistClient) -> None:
    with pytest.raises(ParamsValidationError) as caught:
        admin.launch("sim_train", "train", params={"epochs": 0, "learning_rate": 99, "x": 1})
    assert set(caught.value.field_errors) >= {"epochs", "learning_rate"}
    assert caught.value.field_errors["epochs"] == ["must be >= 1"]
    assert admin.list_runs() == []  # nothing started


def test_bad_launch_requests(server: LiveServer) -> None:
    http = server.http(server.token())
    both = {"plugin": "sim_train", "action": "train", "pipeline": "train_flow"}
    response = http.post(f"{API}/runs", json=both)
    assert response.status_code == 422 and "errors" in response.json()
    response = http.post(f"{API}/runs", json={"plugin": "sim_train", "action": "train",
                                              "mode": "warp"})  # fmt: skip
    assert response.status_code == 422 and "mode" in response.json()["errors"]
    response = http.post(f"{API}/runs", json={"plugin": "sim_trian", "action": "train"})
    assert response.status_code == 404 and response.json()["suggestions"] == ["sim_train"]
    response = http.post(f"{API}/runs", json={"plugin": "../../etc", "action": "x"})
    assert response.status_code == 422


def test_unknown_run_is_404(admin: HoistClient, server: LiveServer) -> None:
    with pytest.raises(RunNotFoundError):
        admin.get_run("0123456789abcdef")
    http = server.http(server.token())
    for path in ("", "/events", "/events/stream", "/artifacts", "/artifacts/a.txt"):
        assert http.get(f"{API}/runs/0123456789abcdef{path}").status_code == 404, path
    assert http.post(f"{API}/runs/0123456789abcdef/cancel").status_code == 404


def test_a_run_by_prefix_or_short_id(admin: HoistClient, server: LiveServer) -> None:
    run_id = admin.launch("text_stats", "word_count", params={"text": "a b"})
    http = server.http(server.token())
    for typed in (run_id, run_id[:12], short_id(run_id), short_id(run_id).upper()):
        response = http.get(f"{API}/runs/{typed}")
        assert response.status_code == 200 and response.json()["id"] == run_id, typed
    assert http.get(f"{API}/runs/{'0' * 8}").status_code == 404


def test_list_filters_and_pages(admin: HoistClient) -> None:
    ids = [admin.launch("text_stats", "word_count", params={"text": str(i)}) for i in range(3)]
    flow = admin.launch("sim_train", pipeline="train_flow", params={"epochs": 2, "samples": 20})
    for run_id in [*ids, flow]:
        admin.wait(run_id)
    assert [r.id for r in admin.list_runs(plugin="text_stats")] == ids[::-1]
    assert [r.id for r in admin.list_runs(plugin="text_stats", limit=2, offset=1)] == ids[1::-1]
    assert [r.id for r in admin.list_runs(kind="pipeline")] == [flow]
    children = admin.list_runs(parent=flow)
    assert {r.action for r in children} == {"generate", "train", "evaluate"}
    assert len(admin.list_runs(status=["succeeded"], limit=100)) == 7
    assert admin.list_runs(status=["failed", "cancelled"]) == []
    assert admin.get_run(flow[:12]).id == flow  # a unique prefix works


def test_cancel_a_running_action(admin: HoistClient) -> None:
    run_id = admin.launch("sim_train", "train", params={"epochs": 500, "sleep_per_epoch": 0.05})
    for event in admin.stream_events(run_id):
        if event.type == "progress":
            break
    answer = admin.cancel(run_id)
    assert answer["cancel_requested"] is True
    assert admin.wait(run_id).status is RunStatus.CANCELLED
    with pytest.raises(ConflictError):
        admin.cancel(run_id)


def test_resume_a_cancelled_pipeline(admin: HoistClient) -> None:
    params = {"epochs": 400, "sleep_per_epoch": 0.02, "samples": 20}
    flow = admin.launch("sim_train", pipeline="train_flow", params=params)
    wait_until(lambda: any(r.action == "train" for r in admin.list_runs(parent=flow)),
               what="the pipeline's train step to start")  # fmt: skip
    admin.cancel(flow)
    assert admin.wait(flow).status is RunStatus.CANCELLED
    resumed = admin.resume(flow, params={"epochs": 2}, allow_param_changes=True)
    assert resumed != flow
    assert admin.wait(resumed).status is RunStatus.SUCCEEDED
    children = {r.action for r in admin.list_runs(parent=resumed)}
    assert "generate" not in children  # finished before: skipped
    with pytest.raises(ConflictError, match="nothing to resume"):
        admin.resume(resumed)
    action_run = admin.launch("text_stats", "word_count")
    admin.wait(action_run)
    with pytest.raises(ConflictError, match="not a pipeline"):
        admin.resume(action_run)


def test_artifacts_are_served_from_the_run_folder_only(server: LiveServer) -> None:
    admin = server.client()
    run_id = admin.launch("sim_train", "train", params={"epochs": 2, "sleep_per_epoch": 0})
    admin.wait(run_id)
    files = admin.list_artifacts(run_id)
    assert [f["path"] for f in files] == ["artifacts/weights.json"]
    assert b"weights" in admin.get_artifact(run_id, "artifacts/weights.json")
    secret = server.state.settings.home / "outside.txt"
    secret.write_text("secret")
    http = server.http(server.token())
    base = f"{API}/runs/{run_id}/artifacts/"
    for attack in (
        "..%2F..%2Foutside.txt",
        "artifacts%2F..%2F..%2F..%2Foutside.txt",
        "%2E%2E/%2E%2E/outside.txt",
        "..%5C..%5Coutside.txt",
        "%2Fetc%2Fpasswd",
        "artifacts/%00",
    ):
        response = http.get(base + attack)
        assert response.status_code in (400, 404), attack
        assert b"secret" not in response.content
    link = server.state.runtime.runs_dir / run_id / "artifacts" / "link.txt"
    link.symlink_to(secret)
    assert http.get(base + "artifacts/link.txt").status_code == 400
    assert http.get(base + "artifacts/missing.json").status_code == 404


def test_config_method_is_the_default_mode(hoist_home: Path, tmp_path: Path) -> None:
    """A launch without ``mode`` runs in the action's ``method:``; ``method: serve`` is a
    clear 422 naming the mode (not an unknown-mode list), unless a mode is given."""
    plugin = write_files(tmp_path / "modes", {
        "config.yaml": "name: Modes\ncode: modes\nactions:\n"
                       "  plain: {entrypoint: 'plugin:plain'}\n"
                       "  pinned: {entrypoint: 'plugin:plain', method: local}\n"
                       "  served: {entrypoint: 'plugin:plain', method: serve}\n",
        "plugin.py": "from hoist import action\n\n@action\ndef plain(params, context):\n"
                     "    return {'ok': True}\n",
    })  # fmt: skip
    with serve(server_settings(hoist_home, plugin_paths=(plugin,))) as live:
        http = live.http(live.token("operator"))
        for name in ("plain", "pinned"):
            response = http.post(f"{API}/runs", json={"plugin": "modes", "action": name})
            assert response.status_code == 202, response.text
            run = http.get(response.headers["location"]).json()
            assert run["mode"] == "local"
        refused = http.post(f"{API}/runs", json={"plugin": "modes", "action": "served"})
        assert refused.status_code == 422
        assert "method: serve" in refused.text and "give a mode" in refused.text
        forced = http.post(
            f"{API}/runs", json={"plugin": "modes", "action": "served", "mode": "local"}
        )
        assert forced.status_code == 202
        actions = http.get(f"{API}/plugins/modes").json()["actions"]
        assert {a["name"]: a["method"] for a in actions} == {
            "plain": None, "pinned": "local", "served": "serve",
        }  # fmt: skip
