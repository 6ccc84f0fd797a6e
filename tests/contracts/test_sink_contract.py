"""The sink contract: one body per promise, run against every sink (memory, the store
on SQLite and on PostgreSQL, HTTP to a real server, fan-out). Everything is read back
through a run log (the store, or the memory sink), never through a sink's own state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hoist.runs.models import (
    CustomEvent,
    EventBase,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    Run,
    RunStatus,
    StatusEvent,
    new_run_id,
)
from hoist.runs.reader import RunLog
from hoist.runs.sinks import EventSink, FanoutSink, MemorySink
from hoist.runs.sinks.http import HttpSink
from hoist.runs.sinks.store import StoreSink
from hoist.runs.store import RunStore
from tests.server.conftest import serve, server_settings
from tests.waiting import wait_until


@dataclass
class SinkCase:
    """A sink under test and the run log its writes are read back from."""

    sink: EventSink
    log: RunLog


def _store_sink(url: str) -> Iterator[SinkCase]:
    store = RunStore(url)
    sink = StoreSink(store, interval=0.01, cancel_poll_interval=0.02)
    yield SinkCase(sink, store)
    sink.close()
    store.close()


@pytest.fixture(params=["memory", "store-sqlite", "store-postgresql", "http", "fanout"])
def sink(request: pytest.FixtureRequest, tmp_path: Path, hoist_home: Path) -> Iterator[SinkCase]:
    """Each contract test runs once per sink."""
    kind = request.param
    if kind == "memory":
        memory = MemorySink()
        yield SinkCase(memory, memory)
    elif kind == "store-sqlite":
        yield from _store_sink(f"sqlite:///{tmp_path / 'sink.db'}")
    elif kind == "store-postgresql":
        yield from _store_sink(request.getfixturevalue("postgres_url"))
    elif kind == "http":
        with serve(server_settings(hoist_home)) as live:
            http = HttpSink(live.url, live.token("operator", worker=True), poll_interval=0.02)
            yield SinkCase(http, live.state.store)
            http.close()
    else:
        store = RunStore(f"sqlite:///{tmp_path / 'fanout.db'}")
        stored = StoreSink(store, interval=0.01, cancel_poll_interval=0.02)
        yield SinkCase(FanoutSink([MemorySink(), stored]), store)
        stored.close()
        store.close()


def _run() -> Run:
    return Run(id=new_run_id(), plugin="contract", action="sink", mode="local")


def _mixed_events(run_id: str, count: int, start: int = 1) -> list[EventBase]:
    """``count`` events of several types with gap-free seqs from ``start``."""
    now = time.time()
    makers = (
        lambda seq: ProgressEvent(run_id=run_id, seq=seq, ts=now, current=seq, total=count),
        lambda seq: LogEvent(run_id=run_id, seq=seq, ts=now, message=f"line {seq}"),
        lambda seq: MetricsEvent(run_id=run_id, seq=seq, ts=now, values={"loss": 1 / seq}),
        lambda seq: CustomEvent(run_id=run_id, seq=seq, ts=now, name="tick", data={"n": seq}),
    )
    return [makers[seq % len(makers)](seq) for seq in range(start, start + count)]


def test_events_arrive_in_order_with_their_seqs(sink: SinkCase) -> None:
    run = _run()
    sink.sink.open_run(run)
    sent = _mixed_events(run.id, 300)
    for event in sent:
        sink.sink.emit(event)
    sink.sink.flush()
    assert sink.log.events(run.id) == sent  # every field, as sent, in seq order
    assert [e.seq for e in sink.log.events(run.id, after_seq=298)] == [299, 300]


def test_flush_acknowledges_what_was_emitted_before_it(sink: SinkCase) -> None:
    run = _run()
    sink.sink.open_run(run)
    sink.sink.flush()
    assert sink.log.get_run(run.id).status is RunStatus.QUEUED
    for event in _mixed_events(run.id, 50):
        sink.sink.emit(event)
    sink.sink.flush()
    assert len(sink.log.events(run.id)) == 50  # no wait: flush returned, so it is there


def test_status_transitions_land_in_the_run_row(sink: SinkCase) -> None:
    run = _run()
    sink.sink.open_run(run)
    sink.sink.emit(StatusEvent(run_id=run.id, seq=1, ts=100.0, status=RunStatus.RUNNING))
    sink.sink.flush()
    running = sink.log.get_run(run.id)
    assert running.status is RunStatus.RUNNING and running.started_at == 100.0
    assert running.finished_at is None
    sink.sink.emit(StatusEvent(run_id=run.id, seq=2, ts=107.0, status=RunStatus.FAILED))
    sink.sink.flush()
    ended = sink.log.get_run(run.id)
    assert ended.status is RunStatus.FAILED
    assert (ended.started_at, ended.finished_at) == (100.0, 107.0)


def test_the_result_is_recorded(sink: SinkCase) -> None:
    run = _run()
    sink.sink.open_run(run)
    value = {"accuracy": 0.93, "labels": ["cat", "dog"], "nested": {"k": [1, 2]}}
    sink.sink.emit(StatusEvent(run_id=run.id, seq=1, ts=1.0, status=RunStatus.RUNNING))
    sink.sink.emit(ResultEvent(run_id=run.id, seq=2, ts=2.0, value=value))
    sink.sink.emit(StatusEvent(run_id=run.id, seq=3, ts=3.0, status=RunStatus.SUCCEEDED))
    sink.sink.flush()
    stored = sink.log.get_run(run.id)
    assert stored.status is RunStatus.SUCCEEDED and stored.result == value
    [result] = [e for e in sink.log.events(run.id) if e.type == "result"]
    assert result.value == value  # type: ignore[union-attr]


def test_a_cancel_request_is_reported(sink: SinkCase) -> None:
    run, other = _run(), _run()
    for each in (run, other):
        sink.sink.open_run(each)
        sink.sink.emit(StatusEvent(run_id=each.id, seq=1, ts=1.0, status=RunStatus.RUNNING))
    sink.sink.flush()
    assert not sink.sink.is_cancel_requested(run.id)
    sink.log.request_cancel(run.id)
    wait_until(lambda: sink.sink.is_cancel_requested(run.id), what="the cancel request")
    assert not sink.sink.is_cancel_requested(other.id)


def test_close_flushes_and_is_idempotent(sink: SinkCase) -> None:
    run = _run()
    sink.sink.open_run(run)
    for event in _mixed_events(run.id, 40):
        sink.sink.emit(event)
    sink.sink.emit(StatusEvent(run_id=run.id, seq=41, ts=1.0, status=RunStatus.SUCCEEDED))
    sink.sink.close()
    sink.sink.close()
    assert [e.seq for e in sink.log.events(run.id)] == list(range(1, 42))
    assert sink.log.get_run(run.id).status is RunStatus.SUCCEEDED
