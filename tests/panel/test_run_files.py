"""A run's ``in/`` and ``out/`` files on its page: listed with sizes, downloadable through
the API's artifact links, names escaped, nothing outside the run's folder shown."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

from hoist.runs.models import Run, RunKind, RunStatus, StatusEvent, new_run_id
from hoist.server.panel.run_files import run_files
from tests.panel.conftest import Login
from tests.server.conftest import LiveServer


def _run(server: LiveServer, kind: RunKind = RunKind.SERVICE) -> Run:
    now = time.time()
    run = Run(id=new_run_id(), kind=kind, plugin="files-service", action="Convert",
              mode="service", created_at=now)  # fmt: skip
    status = StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)
    server.state.store.write_batch([run], [status])
    return run


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _section(page: str) -> str:
    start = page.index('id="part-files"')
    return page[start : page.index("</section>", start)]


def test_in_and_out_files_are_listed_and_download(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _run(panel)
    folder = panel.state.runtime.runs_dir / run.id
    _write(folder / "in" / "data.csv", b"a,b\n1,2\n")
    _write(folder / "in" / "<b>odd name</b>.txt", b"x" * 2048)
    _write(folder / "out" / "charts" / "report.md", b"# Report\n")
    page = http.get(f"/runs/{run.id}")
    assert page.status_code == 200
    files = _section(page.text)
    links = re.findall(r'<a href="([^"]+)" download>([^<]*)</a>', files)
    names = [html.unescape(name) for _, name in links]
    assert names == ["<b>odd name</b>.txt", "data.csv", "charts/report.md"]
    assert "<b>odd" not in files  # the name is text, never markup
    assert "2.0 KB" in files and "8 B" in files
    assert 'id="files-in"' in files and 'id="files-out"' in files
    for href, name in links:
        body = http.get(html.unescape(href))
        assert body.status_code == 200, href
        expected = folder / ("out" if "report" in name else "in") / html.unescape(name)
        assert body.content == expected.read_bytes()


def test_the_live_parts_carry_the_files(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _run(panel)
    assert "No files." in _section(http.get(f"/runs/{run.id}/parts").text)
    _write(panel.state.runtime.runs_dir / run.id / "out" / "result.json", b"{}")
    parts = _section(http.get(f"/runs/{run.id}/parts").text)
    assert "result.json" in parts and "No files." not in parts


def test_an_action_run_without_files_shows_no_section(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _run(panel, RunKind.ACTION)
    page = http.get(f"/runs/{run.id}").text
    assert re.search(r'<section id="part-files"[^>]*hidden', page)


def test_nothing_outside_the_run_folder_is_listed(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    secret = tmp_path / "secret.txt"
    secret.write_text("do not list me")
    other = runs_dir / "other-run" / "out" / "theirs.txt"
    _write(other, b"another run's file")
    base = runs_dir / "r1"
    _write(base / "out" / "mine.txt", b"mine")
    _write(base / "out" / ".upload.part", b"being written")
    (base / "out" / "escape.txt").symlink_to(secret)
    (base / "out" / "theirs.txt").symlink_to(other)  # inside runs_dir, but not this run's
    (base / "in").symlink_to(tmp_path)  # the folder itself leads out
    found = run_files(runs_dir, "r1")
    assert [(g.folder, [f.path for f in g.files]) for g in found] == [("out", ["mine.txt"])]
    assert found[0].files[0].href == "/api/v1/runs/r1/artifacts/out/mine.txt"


def test_a_long_listing_is_cut_and_says_so(tmp_path: Path) -> None:
    for i in range(7):
        _write(tmp_path / "r1" / "out" / f"f{i}.txt", b"x")
    (group,) = run_files(tmp_path, "r1", limit=5)
    assert len(group.files) == 5 and group.more
    (group,) = run_files(tmp_path, "r1", limit=7)
    assert len(group.files) == 7 and not group.more


def test_no_folders_no_groups(tmp_path: Path) -> None:
    assert run_files(tmp_path, "missing") == []
