"""Panel benchmark, served by a real uvicorn over HTTP, each against a baseline measured
in the same run:

1. the run page of an action run with 10,000 events, against a plain endpoint of the
   same app returning that run's first page of events (200) as JSON;
2. the run page of a pipeline run with 200 nodes and 100,000 events (written through
   the server's own batch writer, the StoreSink its runs write through), against a
   plain FastAPI route returning an HTML page of the same size: its target is 300 ms;
   its live parts (what the page re-fetches while the run moves);
3. the same page and parts while the pipeline streams (a thread emits 2,000 events a
   second into a running node, an SSE client follows the pipeline's stream): the page
   stays responsive if it costs about what it costs at rest.

    .venv/bin/python benchmarks/bench_panel.py
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _util import best_per_op, report  # type: ignore[import-not-found]

EVENTS = 10_000
PIPELINE_NODES = 200
PIPELINE_EVENTS = 100_000
STREAM_RATE = 2000  # events a second while the pipeline streams
PASSWORD = "bench-password-123"
TARGET_MS = 300


def _events(run_id: str, now: float, count: int = EVENTS, first: int = 1) -> list[Any]:
    """A realistic mix: progress, metrics, logs, messages and steps."""
    from hoist.runs.models import (
        LogEvent,
        MessageEvent,
        MetricsEvent,
        ProgressEvent,
        RunStatus,
        StatusEvent,
        StepEvent,
    )

    out: list[Any] = [StatusEvent(run_id=run_id, seq=first, ts=now, status=RunStatus.RUNNING)]
    for seq in range(first + 1, first + count):
        ts = now + seq / 100
        kind = seq % 10
        if kind < 5:
            cat = None if kind % 2 else "batches"
            out.append(ProgressEvent(run_id=run_id, seq=seq, ts=ts, current=seq, total=count,
                                     category=cat))  # fmt: skip
        elif kind < 7:
            out.append(MetricsEvent(run_id=run_id, seq=seq, ts=ts, category="train",
                                    values={"loss": 1 / seq, "step": seq}))  # fmt: skip
        elif kind < 9:
            out.append(LogEvent(run_id=run_id, seq=seq, ts=ts, message=f"line {seq} <b>x</b>"))
        elif seq % 100 == 9:
            out.append(StepEvent(run_id=run_id, seq=seq, ts=ts, step=f"s{seq // 1000}",
                                 phase="started"))  # fmt: skip
        else:
            out.append(MessageEvent(run_id=run_id, seq=seq, ts=ts, text=f"**step** {seq}"))
    return out


def _pipeline(sink: Any, now: float) -> tuple[str, str]:
    """A pipeline run of :data:`PIPELINE_NODES` nodes (ten parallel chains of twenty,
    joined at the end) with :data:`PIPELINE_EVENTS` events in all, written through
    ``sink``: every node but the last ran (its own events and the pipeline's step,
    checkpoint and progress events); the last one runs. Returns the pipeline's id and
    the running node's."""
    from hoist.runs.models import (
        CheckpointEvent,
        ProgressEvent,
        Run,
        RunKind,
        RunStatus,
        StatusEvent,
        StepEvent,
        new_run_id,
    )

    chains, length = 10, PIPELINE_NODES // 10
    keys = [f"c{c}-n{i}" for c in range(chains) for i in range(length - (c == chains - 1))]
    specs = [{"key": k, "action": "work",
              "depends_on": [] if k.endswith("-n0") else [k.rsplit("-n", 1)[0] + "-n"
                                                          + str(int(k.rsplit("-n", 1)[1]) - 1)]}
             for k in keys]  # fmt: skip
    ends = [f"c{c}-n{length - 1 - (c == chains - 1)}" for c in range(chains)]
    specs.append({"key": "join", "action": "join", "depends_on": ends})
    pipeline = Run(id=new_run_id(), kind=RunKind.PIPELINE, plugin="bench", action="flow",
                   status=RunStatus.RUNNING, created_at=now, started_at=now,
                   meta={"nodes": specs, "dag": True})  # fmt: skip
    sink.open_run(pipeline)
    seq = 1
    sink.emit(StatusEvent(run_id=pipeline.id, seq=seq, ts=now, status=RunStatus.RUNNING))
    # the pipeline's own events: its status, then started/checkpoint/finished/progress
    # per node (the running one: started only); its nodes' runs share the rest
    own = 1 + 4 * (len(specs) - 1) + 1
    per_node = (PIPELINE_EVENTS - own) // len(specs) - 1  # each ends with its status
    running = ""
    for index, spec in enumerate(specs):
        key, start = spec["key"], now + index
        last = index == len(specs) - 1
        child = Run(id=new_run_id(), parent_id=pipeline.id, plugin="bench", action=spec["action"],
                    status=RunStatus.RUNNING if last else RunStatus.SUCCEEDED, created_at=start,
                    started_at=start, finished_at=None if last else start + 0.9,
                    meta={"node": key, "attempt": 1, "item": None})  # fmt: skip
        sink.open_run(child)
        seq += 1
        sink.emit(StepEvent(run_id=pipeline.id, seq=seq, ts=start, step=key, phase="started"))
        count = per_node if not last else PIPELINE_EVENTS - own - (per_node + 1) * index
        for event in _events(child.id, start, count):
            sink.emit(event)
        if last:
            running = child.id
            continue
        sink.emit(StatusEvent(run_id=child.id, seq=count + 1, ts=start + 0.9,
                              status=RunStatus.SUCCEEDED))  # fmt: skip
        saved = {"node": key, "run_id": child.id, "result": {}}
        sink.emit(CheckpointEvent(run_id=pipeline.id, seq=seq + 1, ts=start + 0.9, name=key,
                                  data=saved))  # fmt: skip
        sink.emit(StepEvent(run_id=pipeline.id, seq=seq + 2, ts=start + 0.9, step=key,
                            phase="finished"))  # fmt: skip
        sink.emit(ProgressEvent(run_id=pipeline.id, seq=seq + 3, ts=start + 0.9,
                                current=index + 1, total=len(specs)))  # fmt: skip
        seq += 3
    sink.flush(timeout=600)
    return pipeline.id, running


def _stream_into(sink: Any, run_id: str, first: int, stop: threading.Event) -> int:
    """Emit :data:`STREAM_RATE` events a second into ``run_id`` until ``stop``; returns
    how many."""
    from hoist.runs.models import LogEvent, ProgressEvent

    seq, tick = first, time.perf_counter()
    while not stop.is_set():
        for _ in range(STREAM_RATE // 20):
            seq += 1
            if seq % 2:
                sink.emit(ProgressEvent(run_id=run_id, seq=seq, ts=time.time(), current=seq,
                                        total=seq + 1000))  # fmt: skip
            else:
                sink.emit(LogEvent(run_id=run_id, seq=seq, ts=time.time(), message=f"ev {seq}"))
        tick += 0.05
        time.sleep(max(0.0, tick - time.perf_counter()))
    return seq - first


def _follow(url: str, cookies: Any, stop: threading.Event, seen: list[int]) -> None:
    """An SSE client on the pipeline's stream, as the page's EventSource is."""
    import httpx

    with (
        httpx.Client(base_url=url, cookies=cookies, timeout=None) as http,
        http.stream("GET", url) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("data:"):
                seen[0] += 1
            if stop.is_set():
                return


def main() -> None:
    import httpx
    import uvicorn
    from fastapi.responses import HTMLResponse, JSONResponse

    from hoist.runs.models import Run, new_run_id
    from hoist.server import create_app
    from hoist.server.panel import install_panel
    from hoist.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="hoist-bench-panel-"))
    app = create_app(Settings(home=home, admin_password=PASSWORD))
    if not any(getattr(r, "path", None) == "/login" for r in app.routes):
        install_panel(app)
    state = app.state.hoist
    now = time.time()
    run = Run(id=new_run_id(), plugin="bench", action="many_events", created_at=now)
    state.store.write_batch([run], _events(run.id, now))
    started = time.perf_counter()
    pipeline_id, running_id = _pipeline(state.sink, now)
    build_s = time.perf_counter() - started
    same_size: dict[str, str] = {}

    @app.get("/bench/events")
    def first_page() -> JSONResponse:  # baseline 1: a plain endpoint, same store
        events = state.store.events(run.id, 0, 200)
        return JSONResponse([e.to_dict() for e in events])

    @app.get("/bench/same-size")
    def same_size_page() -> HTMLResponse:  # baseline 2: a plain HTML page of that size
        return HTMLResponse(same_size["html"])

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            form = http.get("/login").text  # the login form's token (login CSRF)
            token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            data = {"username": "admin", "password": PASSWORD, "csrf_token": token}
            login = http.post("/login", data=data)
            assert login.status_code == 303, login.text
            page = http.get(f"/runs/{run.id}")
            assert page.status_code == 200 and page.text.count('<li class="ev ') == 200
            big = http.get(f"/runs/{pipeline_id}")
            assert big.status_code == 200 and big.text.count('class="dag-node ') == 200
            total = state.store.count_events(pipeline_id) + sum(
                state.store.count_events(c.id) for c in _children(state, pipeline_id)
            )
            same_size["html"] = "<!doctype html><p>" + "x" * (len(big.text) - 20)

            def get(path: str) -> Any:
                return lambda: http.get(path).raise_for_status()

            for path in (f"/runs/{pipeline_id}", f"/runs/{pipeline_id}/parts"):
                get(path)()  # warm: the database's pages in memory, as on a live server

            page_time = best_per_op(get(f"/runs/{run.id}"), 10)
            json_time = best_per_op(get("/bench/events"), 10)
            big_time = best_per_op(get(f"/runs/{pipeline_id}"), 5)
            parts_time = best_per_op(get(f"/runs/{pipeline_id}/parts"), 5)
            same_time = best_per_op(get("/bench/same-size"), 10)

            stop, seen = threading.Event(), [0]
            last_seq = state.store.count_events(running_id)
            writer = threading.Thread(target=lambda: seen.append(
                _stream_into(state.sink, running_id, last_seq, stop)), daemon=True)  # fmt: skip
            follower = threading.Thread(
                target=_follow,
                args=(f"{base}/api/v1/runs/{running_id}/events/stream?after={last_seq}",
                      http.cookies, stop, seen),
                daemon=True,
            )  # fmt: skip
            writer.start()
            follower.start()
            time.sleep(0.5)  # let the stream run before measuring under it
            streaming_big = best_per_op(get(f"/runs/{pipeline_id}"), 5)
            streaming_parts = best_per_op(get(f"/runs/{pipeline_id}/parts"), 5)
            stop.set()
            writer.join(10)
            streamed, followed = (seen[1] if len(seen) > 1 else 0), seen[0]
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        shutil.rmtree(home, ignore_errors=True)
    ms = 1e3
    report(
        [
            ("benchmark", "measured", "baseline (same run)", "ratio / target"),
            (
                f"GET run page, {EVENTS:,} events (uvicorn, HTTP)",
                f"{page_time * ms:.1f} ms",
                f"plain JSON endpoint, first 200 events {json_time * ms:.1f} ms",
                f"x{page_time / json_time:.1f}",
            ),
            (
                f"GET pipeline page, {PIPELINE_NODES} nodes, {total:,} events",
                f"{big_time * ms:.1f} ms",
                f"plain HTML route, same size ({len(big.text) >> 10} KB) {same_time * ms:.1f} ms",
                f"x{big_time / same_time:.1f}; target <= {TARGET_MS} ms: "
                + ("met" if big_time * ms <= TARGET_MS else "MISSED"),
            ),
            (
                "GET its live parts (/runs/{id}/parts)",
                f"{parts_time * ms:.1f} ms",
                f"same-size HTML {same_time * ms:.1f} ms",
                f"x{parts_time / same_time:.1f}",
            ),
            (
                f"pipeline page while it streams ({STREAM_RATE}/s in, SSE out)",
                f"{streaming_big * ms:.1f} ms",
                f"the page at rest {big_time * ms:.1f} ms",
                f"x{streaming_big / big_time:.2f}; {streamed:,} written, {followed:,} followed",
            ),
            (
                "its live parts while it streams",
                f"{streaming_parts * ms:.1f} ms",
                f"the parts at rest {parts_time * ms:.1f} ms",
                f"x{streaming_parts / parts_time:.2f}",
            ),
            ("(building the pipeline run through the StoreSink)", f"{build_s:.1f} s", "", ""),
        ]
    )


def _children(state: Any, run_id: str) -> list[Any]:
    from hoist.runs.reader import RunFilter

    return list(state.store.list_runs(RunFilter(parent_id=run_id, limit=10_000)))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
