"""Runs lists page by a keyset cursor (issue 19): the API's ``next``, the client's
``list_runs_page`` and the remote CLI log follow it, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from hoist.cli.remote import RemoteLog
from hoist.runs.http_log import HttpRunLog
from hoist.runs.models import Run, RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.store import RunStore
from tests.server.conftest import serve, server_settings

API = "/api/v1"


def test_pages_follow_next_to_the_last_run(store_url: str, hoist_home: Path) -> None:
    store = RunStore(store_url)
    runs = [
        Run(id=f"{i:024x}", plugin="p", created_at=float(i // 3),
            status=RunStatus.FAILED if i % 2 else RunStatus.SUCCEEDED)
        for i in range(23)
    ]  # fmt: skip
    store.write_batch(runs, [])
    store.close()
    newest = [r.id for r in sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)]
    settings = server_settings(hoist_home, database_url=store_url)
    with serve(settings) as live:
        admin = live.client("admin")
        seen: list[str] = []
        cursor = None
        while True:
            page, cursor = admin.list_runs_page(plugin="p", limit=5, cursor=cursor)
            seen += [r.id for r in page]
            if cursor is None:
                break
        assert seen == newest
        failed, more = admin.list_runs_page(status=["failed"], limit=4)
        rest = admin.list_runs(status=["failed"], limit=50, cursor=more)
        assert [r.id for r in failed + rest] == [i for i in newest if int(i, 16) % 2]
        assert [r.id for r in admin.list_runs(plugin="p", limit=3, offset=2)] == newest[2:5]

        http = live.http(live.token())
        assert http.get(f"{API}/runs", params={"cursor": "nope"}).status_code == 422
        assert http.get(f"{API}/runs", params={"cursor": "1e5~x"}).json()["next"] is None
        assert http.get(f"{API}/runs", params={"offset": 10_001}).status_code == 422
        assert http.get(f"{API}/runs", params={"limit": 50}).json()["next"] is None

        remote = RemoteLog(admin)
        assert [r.id for r in remote.list_runs(RunFilter(limit=20, offset=1))] == newest[1:21]
        after = RunFilter(cursor=(5.0, newest[6]))  # newest[6] was created at 5.0
        assert [r.id for r in remote.list_runs(after)] == newest[7:]
        log = HttpRunLog(live.url, live.token())
        try:
            assert [r.id for r in log.list_runs(RunFilter(limit=20, offset=1))] == newest[1:21]
        finally:
            log.close()
