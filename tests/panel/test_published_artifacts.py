"""The run page lists the artifacts a run published to a storage location (moto's real
S3 server, ``HOIST_ARTIFACTS``), also once the run's local folder is gone, with links
that download the published bytes; a location that fails leaves the page up, saying so
without the secret."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoist.runs.artifacts import PUBLISHED_EVENT
from hoist.runs.models import CustomEvent, RunStatus
from tests.conftest import write_files
from tests.panel.conftest import Login, wait_status
from tests.server.conftest import LiveServer, serve, server_settings
from tests.storage.conftest import BUCKET, KEY_VAR, SECRET_VAR, s3_server  # noqa: F401
from tests.storage.servers import S3Server

CONFIG = """\
name: Published Test
code: pubtest
version: 0.1.0
category: export
description: An action that writes artifacts
requirements: []
actions:
  write:
    entrypoint: plugin.actions:Write
    description: Write a few artifacts
"""

SMALL: dict[str, bytes] = {
    "charts/loss curve.csv": b"epoch,loss\n1,0.9\n2,0.4\n",
    "notes/<b>odd</b> & name.txt": b"escaped, never markup",
}
ARTIFACTS = {**SMALL, "model.bin": hashlib.sha256(b"weights").digest() * 40_000}
"""What the action writes below its ``artifacts/`` (1.28 MB; a space, markup and ``&``
in names)."""

ACTIONS = f"""
import hashlib
from pydantic import BaseModel
from hoist import BaseAction

ARTIFACTS = {{**{SMALL!r}, "model.bin": hashlib.sha256(b"weights").digest() * 40_000}}


class Nothing(BaseModel):
    pass


class Write(BaseAction[Nothing]):
    def execute(self):
        folder = self.ctx.artifacts_dir
        for path, data in ARTIFACTS.items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return {{"written": len(ARTIFACTS)}}
"""


@pytest.fixture
def panel(
    s3_server: S3Server,  # noqa: F811
    hoist_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LiveServer]:
    """A live server with the panel whose runs publish their artifacts to location ``s3``
    (a fresh prefix of the test bucket); the ``login`` fixture logs in to it."""
    plugins = tmp_path / "plugins"
    write_files(plugins / "pubtest", {"config.yaml": CONFIG, "plugin/__init__.py": "",
                                      "plugin/actions.py": ACTIONS})  # fmt: skip
    config = tmp_path / "storage.yaml"
    config.write_text(json.dumps({"storage": {"s3": {
        "url": f"s3://{BUCKET}/{uuid.uuid4().hex}",
        "options": {"endpoint_url": s3_server.endpoint},
        "credentials": {"env": {"key": KEY_VAR, "secret": SECRET_VAR}},
    }}}))  # fmt: skip
    for name, value in (("HOIST_STORAGE_CONFIG", str(config)), ("HOIST_ARTIFACTS", "s3"),
                        (KEY_VAR, s3_server.key), (SECRET_VAR, s3_server.secret)):  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = server_settings(hoist_home, artifacts="s3", storage_config=config)
    settings = settings.with_(plugin_paths=(*settings.plugin_paths, plugins))
    with serve(settings, keepalive=0.5) as live:
        yield live


def _published_run(server: LiveServer) -> str:
    """Run the action, check it published, and remove its local folder."""
    run_id = server.client().launch("pubtest", "write", params={})
    assert wait_status(server, run_id).status is RunStatus.SUCCEEDED
    events = server.state.store.events_of_type(run_id, ("custom",), 50)
    assert [e for e in events if isinstance(e, CustomEvent) and e.name == PUBLISHED_EVENT]
    shutil.rmtree(server.state.runtime.runs_dir / run_id)  # only the published copy is left
    return run_id


def _files(page: str) -> str:
    start = page.index('id="part-files"')
    return page[start : page.index("</section>", start)]


def _links(section: str) -> dict[str, str]:
    """Each listed artifact's name (unescaped) and link, from the Artifacts group."""
    start = section.index('id="files-artifacts"')
    group = section[start : section.index("</ul>", start)]
    found = re.findall(r'<a href="([^"]+)" download>([^<]*)</a>', group)
    return {html.unescape(name): html.unescape(href) for href, name in found}


def test_the_run_page_lists_published_artifacts_and_downloads_them(
    panel: LiveServer, login: Login
) -> None:
    http, _ = login("viewer")
    run_id = _published_run(panel)
    page = http.get(f"/runs/{run_id}")
    assert page.status_code == 200
    files = _files(page.text)
    assert "<b>odd" not in files  # a name is text, never markup
    links = _links(files)
    assert sorted(links) == sorted(ARTIFACTS)
    assert "1.2 MB" in files or "1.3 MB" in files
    for name, href in links.items():
        assert href.startswith(f"/api/v1/runs/{run_id}/artifacts/artifacts/"), href
        body = http.get(href)
        assert body.status_code == 200, href
        assert body.content == ARTIFACTS[name], name
    # The live parts (what the page swaps in as the run moves on) carry the same list.
    assert _links(_files(http.get(f"/runs/{run_id}/parts").text)) == links
    # The API lists the same files: one listing behind both.
    api = panel.client().list_artifacts(run_id)
    assert sorted(f["path"] for f in api) == sorted(f"artifacts/{p}" for p in ARTIFACTS)


def test_a_failing_location_leaves_the_page_up(
    panel: LiveServer,
    login: Login,
    s3_server: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, _ = login("viewer")
    run_id = _published_run(panel)
    wrong = f"wrong-{uuid.uuid4().hex}"
    monkeypatch.setenv(SECRET_VAR, wrong)  # the server reads credentials at each use
    page = http.get(f"/runs/{run_id}")
    assert page.status_code == 200
    files = _files(page.text)
    (problem,) = re.findall(r'id="files-artifacts-problem">([^<]*)<', files)
    assert "storage 's3/" in html.unescape(problem) and "permission denied" in problem, problem
    assert wrong not in page.text and s3_server.secret not in page.text
    assert 'id="files-artifacts"' not in files  # nothing listed, nothing made up
