"""The strategies API against a live server: list, explain, unknown names, roles."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import LiveServer, serve, server_settings

API = "/api/v1/strategies"


def test_viewers_list_the_working_strategies(server: LiveServer) -> None:
    http = server.http(server.token("viewer"))
    answer = http.get(API)
    assert answer.status_code == 200
    names = {s["name"]: s for s in answer.json()["strategies"]}
    assert {"local", "process"} <= set(names)
    assert names["local"]["source"] == "builtin" and names["local"]["description"]
    assert names["process"]["interface"] == "http"
    assert all(set(b) == {"name", "source", "error"} for b in answer.json()["broken"])
    assert "path" not in names["local"]


def test_a_broken_strategy_folder_is_listed_with_its_error(
    tmp_path: Path, hoist_home: Path
) -> None:
    folders = tmp_path / "strategies"
    (folders / "halfdone").mkdir(parents=True)
    (folders / "halfdone" / "runner.py").write_text("")
    with serve(server_settings(hoist_home, strategy_paths=(folders,))) as live:
        http = live.http(live.token("viewer"))
        broken = {b["name"]: b for b in http.get(API).json()["broken"]}
        assert broken["halfdone"]["source"] == "path"
        assert "config.yaml" in broken["halfdone"]["error"]
        assert str(folders) not in broken["halfdone"]["error"]
        explained = http.get(f"{API}/halfdone")
        assert explained.status_code == 409 and "config.yaml" in explained.json()["detail"]
        assert str(folders) not in explained.text
        operator = live.http(live.token("operator"))
        body = {"plugin": "text_stats", "strategy": "halfdone", "module": "main"}
        deployed = operator.post("/api/v1/deployments", json=body)
        assert deployed.status_code == 409 and "halfdone" in deployed.json()["detail"]
        assert str(folders) not in deployed.text


def test_a_strategy_is_explained(server: LiveServer) -> None:
    http = server.http(server.token("viewer"))
    answer = http.get(f"{API}/process")
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "process" and body["explanation"].startswith("process: ")
    assert body["run_interface"]["path"] == "/predict"
    assert body["settings"]["host"] == "127.0.0.1"


def test_an_unknown_strategy_lists_the_available(server: LiveServer) -> None:
    http = server.http(server.token("viewer"))
    answer = http.get(f"{API}/teleport")
    assert answer.status_code == 404
    body = answer.json()
    assert body["kind"] == "strategy" and body["name"] == "teleport"
    assert "local" in body["detail"] and "process" in body["detail"]
    assert http.get(f"{API}/bad%2Fname").status_code in (404, 422)


def test_strategies_need_a_login(server: LiveServer) -> None:
    assert server.http().get(API).status_code == 401
