"""Live streams over a real server: SSE ids are seqs, streams end with the terminal
event, ``Last-Event-ID`` replays exactly what was missed, 100 subscribers all receive
every event, the all-runs stream, keep-alives, and a hub that stops when nobody watches."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

from hoist.client import AsyncHoistClient, HoistClient
from hoist.runs.models import LogEvent, Run, RunStatus, StatusEvent
from tests.server.conftest import LiveServer, serve, server_settings
from tests.waiting import wait_until

API = "/api/v1"
SLOW = {"epochs": 30, "sleep_per_epoch": 0.01}


def _sse(http: Any, path: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every message of a stream until the server ends it."""
    messages: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with http.stream("GET", path, headers=headers or {}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line:
                if current:
                    messages.append(current)
                current = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                current[name] = value
    return messages


def test_sse_ids_are_seqs_and_the_stream_ends_with_the_terminal_event(server: LiveServer) -> None:
    admin = server.client()
    run_id = admin.launch("sim_train", "train", params=SLOW)
    messages = _sse(server.http(server.token()), f"{API}/runs/{run_id}/events/stream")
    seqs = [int(m["id"]) for m in messages]
    assert seqs == list(range(1, len(seqs) + 1))
    assert all(json.loads(m["data"])["seq"] == int(m["id"]) for m in messages)
    assert messages[-1]["event"] == "status"
    assert json.loads(messages[-1]["data"])["status"] == "succeeded"
    assert seqs[-1] == len(admin.events(run_id))


def test_last_event_id_replays_exactly_what_was_missed(server: LiveServer) -> None:
    admin = server.client()
    run_id = admin.launch("sim_train", "train", params=SLOW)
    first: list[int] = []
    for event in admin.stream_events(run_id):  # drop the connection mid-run
        first.append(event.seq)
        if len(first) == 7:
            break
    http = server.http(server.token())
    rest = _sse(http, f"{API}/runs/{run_id}/events/stream", {"Last-Event-ID": "7"})
    seqs = first + [int(m["id"]) for m in rest]
    assert seqs == list(range(1, len(seqs) + 1))
    assert json.loads(rest[-1]["data"])["status"] == "succeeded"
    # Reconnecting after the end replays nothing and ends at once.
    assert _sse(http, f"{API}/runs/{run_id}/events/stream", {"Last-Event-ID": str(seqs[-1])}) == []
    # A seq past any event replays nothing; anything but digits is refused, naming the header.
    huge = {"Last-Event-ID": "9" * 20}
    assert _sse(http, f"{API}/runs/{run_id}/events/stream", huge) == []
    for bad in ("x1", "null", "-1"):
        response = http.get(f"{API}/runs/{run_id}/events/stream", headers={"Last-Event-ID": bad})
        assert response.status_code == 422 and "last-event-id" in response.json()["errors"]


def test_a_hundred_subscribers_all_receive_every_event(server: LiveServer) -> None:
    tokens = [server.token(), server.token()]

    async def scenario() -> tuple[str, list[list[int]]]:
        clients = [AsyncHoistClient(server.url, t) for t in tokens]
        try:
            run_id = await clients[0].launch("sim_train", "train", params=SLOW)

            async def follow(client: AsyncHoistClient) -> list[int]:
                return [e.seq async for e in client.stream_events(run_id)]

            seen = await asyncio.gather(*(follow(clients[i % 2]) for i in range(100)))
            return run_id, list(seen)
        finally:
            for client in clients:
                await client.close()

    run_id, seen = asyncio.run(scenario())
    expected = [e.seq for e in server.client().events(run_id)]
    assert len(expected) > 30
    assert all(s == expected for s in seen)


def test_the_runs_stream_reports_status_changes(server: LiveServer) -> None:
    admin = server.client()
    seen: list[Run] = []

    def watch() -> None:
        with server.client() as watcher:
            for run in watcher.stream_runs():
                seen.append(run)
                if run.status.is_terminal:
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    hub = server.state.hub
    # The hub's first read of the runs is a snapshot; changes are reported after it.
    wait_until(lambda: hub.subscriber_count and hub._runs_primed, what="the runs snapshot")
    run_id = admin.launch("sim_train", "train", params=SLOW)
    thread.join(30)
    assert not thread.is_alive()
    assert {r.id for r in seen} == {run_id}
    assert seen[-1].status is RunStatus.SUCCEEDED


def test_idle_streams_get_keepalives_and_the_hub_stops_without_subscribers(
    server: LiveServer,
) -> None:
    worker = server.worker()
    run = Run(id="idle00000000000000000001", plugin="remote", action="wait")
    worker.ingest([run], [StatusEvent(run_id=run.id, seq=1, ts=time.time(),
                                      status=RunStatus.RUNNING)])  # fmt: skip
    http = server.http(server.token())
    comments = 0
    with http.stream("GET", f"{API}/runs/{run.id}/events/stream") as response:
        for line in response.iter_lines():
            if line == ": keep-alive":
                comments += 1
                if comments == 2:
                    break
    hub = server.state.hub

    def stopped() -> bool:
        return not hub.subscriber_count and (hub._task is None or hub._task.done())

    wait_until(stopped, timeout=10, what="the hub to stop without subscribers")


def test_a_client_stream_survives_a_server_restart(hoist_home: Path) -> None:
    """A remote worker posts events while the server restarts under the client's stream:
    the client reconnects with Last-Event-ID and gets every event exactly once."""
    settings = server_settings(hoist_home)
    run = Run(id="restart00000000000000001", plugin="remote", action="work")
    received: list[int] = []
    errors: list[BaseException] = []
    with serve(settings) as first:
        port, token = first.port, first.token("operator", worker=True)
        worker = first.client_with(token)
        worker.ingest([run], [StatusEvent(run_id=run.id, seq=1, ts=time.time(),
                                          status=RunStatus.RUNNING)])  # fmt: skip
        reader = HoistClient(first.url, token, retry_delay=0.1, stream_retries=50)

        def follow() -> None:
            try:
                received.extend(e.seq for e in reader.stream_events(run.id))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        worker.ingest([], [LogEvent(run_id=run.id, seq=s, ts=time.time(), message=str(s))
                           for s in range(2, 6)])  # fmt: skip
        wait_until(lambda: len(received) >= 5 or errors, what="the first five events")
    with serve(settings, port=port) as second:
        worker = second.client_with(token)
        worker.ingest([], [LogEvent(run_id=run.id, seq=s, ts=time.time(), message=str(s))
                           for s in range(6, 10)])  # fmt: skip
        worker.ingest([], [StatusEvent(run_id=run.id, seq=10, ts=time.time(),
                                       status=RunStatus.SUCCEEDED)])  # fmt: skip
        thread.join(30)
        reader.close()
    assert not errors
    assert received == list(range(1, 11))


def test_a_stream_of_a_run_whose_worker_died_ends_lost(server: LiveServer) -> None:
    """A run left ``running`` by a process that died (no heartbeat) is reaped by the
    hub while someone watches it, so its stream ends instead of waiting forever."""
    long_ago = time.time() - 120
    run = Run(id="dead0000000000000000001", plugin="cli", action="work", created_at=long_ago)
    server.state.store.write_batch(
        [run], [StatusEvent(run_id=run.id, seq=1, ts=long_ago, status=RunStatus.RUNNING)]
    )
    server.state.hub.reap_interval = 0.2
    events = list(server.client("viewer").stream_events(run.id))
    assert [e.type for e in events] == ["status", "error", "status"]
    assert events[-1].status is RunStatus.LOST
