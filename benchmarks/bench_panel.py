"""Panel benchmark: the run page of a run with 10,000 events, served by a real uvicorn,
against a plain FastAPI endpoint of the same app returning that run's first page of
events (200) as JSON, measured in the same run; plus the page's render time in-process.

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
PASSWORD = "bench-password-123"


def _events(run_id: str, now: float) -> list[Any]:
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

    out: list[Any] = [StatusEvent(run_id=run_id, seq=1, ts=now, status=RunStatus.RUNNING)]
    for seq in range(2, EVENTS + 1):
        ts = now + seq / 100
        kind = seq % 10
        if kind < 5:
            cat = None if kind % 2 else "batches"
            out.append(ProgressEvent(run_id=run_id, seq=seq, ts=ts, current=seq, total=EVENTS,
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


def main() -> None:
    import httpx
    import uvicorn
    from fastapi.responses import JSONResponse

    from hoist.runs.models import Run, new_run_id
    from hoist.server import create_app
    from hoist.server.panel import install_panel
    from hoist.server.panel.run_pages import _run_context
    from hoist.server.panel.templating import render
    from hoist.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="hoist-bench-panel-"))
    app = create_app(Settings(home=home, admin_password=PASSWORD))
    if not any(getattr(r, "path", None) == "/login" for r in app.routes):
        install_panel(app)
    state = app.state.hoist
    now = time.time()
    run = Run(id=new_run_id(), plugin="bench", action="many_events", created_at=now)
    state.store.write_batch([run], _events(run.id, now))

    @app.get("/bench/events")
    def first_page() -> JSONResponse:  # the baseline: a plain endpoint, same store
        events = state.store.events(run.id, 0, 200)
        return JSONResponse([e.to_dict() for e in events])

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            form = http.get("/login").text  # the login form's token (login CSRF)
            token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            data = {"username": "admin", "password": PASSWORD, "csrf_token": token}
            login = http.post("/login", data=data)
            assert login.status_code == 303, login.text
            page = http.get(f"/runs/{run.id}")
            assert page.status_code == 200 and page.text.count('<li class="ev ') == 200

            def get_page() -> None:
                http.get(f"/runs/{run.id}").raise_for_status()

            def get_json() -> None:
                http.get("/bench/events").raise_for_status()

            page_time = best_per_op(get_page, 10)
            json_time = best_per_op(get_json, 10)

            def render_page() -> None:
                context = _run_context(state, run.id, None)
                render("run.html", **context, user=None, csrf_token=None, can_operate=False,
                       path="/")  # fmt: skip

            render_time = best_per_op(render_page, 10)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        shutil.rmtree(home, ignore_errors=True)
    report(
        [
            ("benchmark", "measured", "baseline (same run)", "ratio / target"),
            (
                f"GET run page, {EVENTS:,} events (uvicorn, HTTP)",
                f"{page_time * 1e3:.1f} ms",
                f"plain JSON endpoint, first 200 events {json_time * 1e3:.1f} ms",
                f"x{page_time / json_time:.1f}; target <= 300 ms",
            ),
            (
                "run page: store reads + Jinja render (in-process)",
                f"{render_time * 1e3:.1f} ms",
                "",
                f"{len(page.text) / 1024:.0f} KB of HTML",
            ),
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
