"""HttpSink: a worker without a database posts its runs and events to a real server;
nothing is lost or duplicated across failures; cancel requests reach the action."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.server.conftest import LiveServer, serve, server_settings
from tests.waiting import wait_until

from hoist.errors import RunCancelledError, StoreError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.runs.models import LogEvent, Run, RunStatus, StatusEvent
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.http import HttpSink
from hoist.settings import Settings


class WorkParams(BaseModel):
    steps: int = 5
    until_cancelled: bool = False


class Work(BaseAction[WorkParams]):
    def execute(self) -> dict[str, int]:
        self.log("starting")
        i = 0
        while i < self.params.steps or self.params.until_cancelled:
            i += 1
            self.set_progress(min(i, self.params.steps), self.params.steps)
            if self.params.until_cancelled:
                self.ctx.check_cancelled()
                time.sleep(0.02)
        return {"steps": i}


@pytest.fixture
def server(hoist_home: Path) -> Iterator[LiveServer]:
    """A real uvicorn server on the test's store (as tests/server's fixture)."""
    with serve(server_settings(hoist_home), keepalive=0.5) as live:
        yield live


def _worker(home: Path, url: str, token: str) -> Runtime:
    """A worker's runtime: a server and a token, no database."""
    return Runtime(Settings(home=home, server_url=url), token=token)


def test_a_worker_runtime_records_runs_and_events_on_the_server(
    server: LiveServer, tmp_path: Path
) -> None:
    runtime = _worker(tmp_path / "worker", server.url, server.token("operator", worker=True))
    assert runtime.remote and isinstance(runtime.sink, HttpSink)
    with LocalExecutor(runtime=runtime) as executor:
        assert executor.execute(Work, {"steps": 3}) == {"steps": 3}
    runtime.sink.flush()
    viewer = server.client("viewer")
    [run] = viewer.list_runs()
    assert run.status is RunStatus.SUCCEEDED and run.result == {"steps": 3}
    events = viewer.events(run.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {"custom", "progress", "result"} <= {e.type for e in events}
    assert events[-1].type == "status" and events[-1].status is RunStatus.SUCCEEDED
    runtime.close()
    assert not (tmp_path / "worker" / "hoist.db").exists()  # nothing written locally


def test_the_runtime_needs_a_token_and_no_database_to_post(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, server_url="http://127.0.0.1:9")
    assert not Runtime(settings).remote
    assert not Runtime(settings.with_(database_url="sqlite://"), token="t").remote
    assert Runtime(settings, token="t").remote


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _logs(run_id: str, start: int, count: int) -> list[LogEvent]:
    return [LogEvent(run_id=run_id, seq=seq, ts=time.time(), message=f"line {seq}")
            for seq in range(start, start + count)]  # fmt: skip


def test_batches_survive_a_server_restart_without_loss_or_duplicates(hoist_home: Path) -> None:
    settings = server_settings(hoist_home)
    port = _free_port()
    run = Run(id="restart00000000000000001", plugin="remote", action="work", mode="remote")
    with serve(settings, port=port) as live:
        token = live.token("operator", worker=True)
        sink = HttpSink(live.url, token, max_backoff=0.2)
        sink.open_run(run)
        for event in _logs(run.id, 1, 50):
            sink.emit(event)
        sink.flush()
    # The server is gone: the sink keeps what it could not post.
    for event in _logs(run.id, 51, 50):
        sink.emit(event)
    with pytest.raises(StoreError, match="did not accept events in time"):
        sink.flush(timeout=0.5)
    with serve(settings, port=port) as live:
        sink.emit(StatusEvent(run_id=run.id, seq=101, ts=time.time(), status=RunStatus.FAILED))
        sink.flush()
        sink.close()
        client = live.client("viewer")
        seqs = [e.seq for e in client.events(run.id)]
        assert seqs == list(range(1, 102))  # every event once, in order
        assert client.get_run(run.id).status is RunStatus.FAILED


class _LoseAnswers:
    """ASGI middleware: the first ``count`` ingest posts are stored by the real app, but
    the worker gets a 503 instead of the answer (as when a proxy drops it)."""

    def __init__(self, app: Any, lost: list[int], count: int) -> None:
        self.app = app
        self.lost = lost
        self.count = count

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        ingest = scope["type"] == "http" and scope["path"].endswith("/ingest")
        if not ingest or len(self.lost) >= self.count:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Any) -> None:
            pass

        await self.app(scope, receive, swallow)
        self.lost.append(1)
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"answer lost"})


def test_a_batch_stored_but_unacknowledged_is_resent_without_duplicates(
    hoist_home: Path,
) -> None:
    lost: list[int] = []
    run = Run(id="resent000000000000000001", plugin="remote", action="work", mode="remote")
    with serve(
        server_settings(hoist_home),
        prepare=lambda app: app.add_middleware(_LoseAnswers, lost=lost, count=2),
    ) as live:
        sink = HttpSink(live.url, live.token("operator", worker=True), max_backoff=0.1)
        sink.open_run(run)
        for event in _logs(run.id, 1, 20):
            sink.emit(event)
        sink.flush()
        assert len(lost) == 2 and sink.posts >= 3  # stored twice unacknowledged, then ok
        sink.close()
        seqs = [e.seq for e in live.client("viewer").events(run.id)]
        assert seqs == list(range(1, 21))


def test_cancel_requests_reach_the_action(server: LiveServer, tmp_path: Path) -> None:
    runtime = _worker(tmp_path / "worker", server.url, server.token("operator", worker=True))
    admin = server.client("admin")
    with LocalExecutor(runtime=runtime) as executor:
        handle = executor.submit(Work, {"until_cancelled": True})
        wait_until(lambda: any(r.status is RunStatus.RUNNING for r in admin.list_runs()),
                   what="the run to start")  # fmt: skip
        admin.cancel(handle.run_id)
        with pytest.raises(RunCancelledError):
            handle.result(timeout=15)
    runtime.sink.flush()
    assert admin.get_run(handle.run_id).status is RunStatus.CANCELLED
    runtime.close()


def test_a_quiet_run_is_kept_alive_by_heartbeats(server: LiveServer, tmp_path: Path) -> None:
    token = server.token("operator", worker=True)
    sink = HttpSink(server.url, token, poll_interval=0.05)
    run = Run(id="quiet0000000000000000001", plugin="remote", action="work", mode="remote")
    sink.open_run(run)
    sink.emit(StatusEvent(run_id=run.id, seq=1, ts=time.time(), status=RunStatus.RUNNING))
    sink.flush()
    store = server.state.store
    first = store.get_run(run.id).heartbeat_at
    assert first is not None
    # No event is posted: only heartbeats move it.
    wait_until(lambda: (store.get_run(run.id).heartbeat_at or 0) > first, what="a heartbeat")
    sink.close()


def test_events_the_server_refuses_are_set_aside_and_the_rest_lands(
    server: LiveServer,
) -> None:
    sink = HttpSink(
        server.url, server.token("operator", worker=True), max_backoff=0.05, max_tries=2
    )
    run = Run(id="refused00000000000000001", plugin="remote", action="work", mode="remote")
    sink.open_run(run)
    events = _logs(run.id, 1, 30)
    bad = LogEvent(run_id=run.id, seq=0, ts=time.time(), message="seq 0 is out of range")
    for event in [*events[:10], bad, *events[10:]]:
        sink.emit(event)
    with pytest.raises(StoreError, match="refused 1 runs/events for good"):
        sink.flush(timeout=15)  # the 422 names the whole batch: halved down to the bad one
    [[refused]] = [r.items for r in sink.rejected]  # kept as it was to be posted
    assert LogEvent(**json.loads(refused)) == bad
    assert "422" in sink.rejected[0].error
    sink.emit(StatusEvent(run_id=run.id, seq=31, ts=time.time(), status=RunStatus.SUCCEEDED))
    sink.close()
    client = server.client("viewer")
    assert [e.seq for e in client.events(run.id)] == list(range(1, 32))
    assert client.get_run(run.id).status is RunStatus.SUCCEEDED


def test_events_of_a_run_the_server_does_not_know_are_set_aside_and_the_rest_lands(
    server: LiveServer,
) -> None:
    """An event naming a run the server does not know is a 404 naming that event: the
    batch is halved down to it, the run's own events land."""
    sink = HttpSink(server.url, server.token("operator", worker=True), interval=5.0,
                    max_backoff=0.05, max_tries=1)  # fmt: skip
    run = Run(id="unknownsib00000000000001", plugin="remote", action="work", mode="remote")
    sink.open_run(run)
    events = _logs(run.id, 1, 20)
    orphan = LogEvent(run_id="nosuchrun000000000000001", seq=1, ts=time.time(), message="lost")
    for event in [*events[:7], orphan, *events[7:]]:
        sink.emit(event)
    with pytest.raises(StoreError, match="refused 1 runs/events for good"):
        sink.flush(timeout=15)
    [[refused]] = [r.items for r in sink.rejected]
    assert LogEvent(**json.loads(refused)) == orphan
    assert "404" in sink.rejected[0].error and "unknown run" in sink.rejected[0].error
    sink.close()
    store = server.state.store
    assert [e.seq for e in store.events(run.id)] == list(range(1, 21))
    assert store.existing_run_ids([orphan.run_id]) == set()


def test_a_404_without_field_errors_sets_the_batch_aside_whole(server: LiveServer) -> None:
    """No ingest endpoint at that address (a 404 naming no item): every item would meet
    it alike, so the batch is not halved."""
    token = server.token("operator", worker=True)
    sink = HttpSink(f"{server.url}/not-hoist", token, interval=5.0, max_tries=1)
    run = Run(id="wrongurl0000000000000001", plugin="remote", action="work", mode="remote")
    sink.open_run(run)
    for event in _logs(run.id, 1, 9):
        sink.emit(event)
    with pytest.raises(StoreError, match="refused 10 runs/events for good"):
        sink.flush(timeout=15)
    [rejected] = sink.rejected
    assert len(rejected.items) == 10 and "404" in rejected.error
    sink.close()


def test_a_refused_token_sets_the_batch_aside_whole(server: LiveServer) -> None:
    # interval: the writer waits that long to gather a batch, so flush() takes all.
    sink = HttpSink(server.url, "not-a-token", interval=5.0, max_tries=2)
    run = Run(id="badtoken0000000000000001", plugin="remote", action="work", mode="remote")
    sink.open_run(run)
    for event in _logs(run.id, 1, 20):
        sink.emit(event)
    with pytest.raises(StoreError, match="refused 21 runs/events for good"):
        sink.flush(timeout=15)
    # Posted max_tries times, never halved: every item would be refused alike.
    [rejected] = sink.rejected
    assert len(rejected.items) == 21 and "401" in rejected.error
    sink.close()


def test_a_user_token_cannot_post_and_the_sink_says_so(server: LiveServer) -> None:
    sink = HttpSink(server.url, server.token("operator"), interval=5.0, max_tries=1)
    run = Run(id="usertoken000000000000001", plugin="remote", action="work", mode="remote")
    sink.open_run(run)
    sink.emit(StatusEvent(run_id=run.id, seq=1, ts=time.time(), status=RunStatus.RUNNING))
    with pytest.raises(StoreError, match="refused 2 runs/events"):
        sink.flush(timeout=15)
    [rejected] = sink.rejected
    assert "403" in rejected.error and "worker token" in rejected.error
    sink.close()
    assert server.state.store.existing_run_ids([run.id]) == set()


def test_events_of_a_run_the_server_ended_are_set_aside_and_its_siblings_land(
    server: LiveServer,
) -> None:
    """The server marked one of the worker's runs ``lost`` (say, after a network split):
    the worker's late events for it are refused (409), those of its other run land."""
    sink = HttpSink(server.url, server.token("operator", worker=True), interval=5.0,
                    max_backoff=0.05, max_tries=1)  # fmt: skip
    gone = Run(id="splitgone000000000000001", plugin="remote", action="work", mode="remote")
    kept = Run(id="splitkept000000000000001", plugin="remote", action="work", mode="remote")
    for run in (gone, kept):
        sink.open_run(run)
        sink.emit(StatusEvent(run_id=run.id, seq=1, ts=time.time(), status=RunStatus.RUNNING))
    sink.flush()
    store = server.state.store
    assert store.mark_lost(gone.id, "no heartbeat: its worker died")
    before = [e.to_dict() for e in store.events(gone.id)]
    for seq in range(2, 6):  # one batch, the two runs' events interleaved
        sink.emit(LogEvent(run_id=gone.id, seq=seq + 2, ts=time.time(), message="late"))
        sink.emit(LogEvent(run_id=kept.id, seq=seq, ts=time.time(), message="fine"))
    with pytest.raises(StoreError, match="refused 4 runs/events for good"):
        sink.flush(timeout=15)
    assert all("409" in r.error and "has ended (lost)" in r.error for r in sink.rejected)
    sink.emit(StatusEvent(run_id=kept.id, seq=6, ts=time.time(), status=RunStatus.SUCCEEDED))
    sink.close()
    assert [e.to_dict() for e in store.events(gone.id)] == before
    assert store.get_run(gone.id).status is RunStatus.LOST
    assert [e.seq for e in store.events(kept.id)] == list(range(1, 7))
    assert store.get_run(kept.id).status is RunStatus.SUCCEEDED
