"""Uploads of an enter form's ``F.InputFiles``: streamed into the run's ``in/`` folder,
their paths in the inputs, names sanitised and de-duplicated, and every over-size or
broken upload refused with nothing launched and nothing left on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi
import httpx
import pytest

from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import Launch, ServeAPI
from hoist.services import forms as F
from hoist.services.uploads import safe_name
from tests.services.conftest import ended
from tests.services.test_app import AppClient, nothing_recorded, serving

FORM = F.Model(
    F.InputText("title", "Title", required=True),
    F.InputFiles("docs", "Documents", multiple=True, required=True),
    F.InputFiles("extra", "Extra"),
    F.Submit("Go"),
)

LIMIT = 1000


def count(inputs: dict[str, Any], tracer: Any) -> dict[str, Any]:
    """The entry point: the sizes of what it was given, read through its run files."""
    fs = tracer.fs_sync()
    return {
        "docs": inputs["docs"],
        "extra": inputs["extra"],
        "sizes": [len(fs.read(path)) for path in inputs["docs"]],
    }


def build(runtime: Runtime, **options: Any) -> ServeAPI:
    app = ServeAPI(runtime=runtime, max_upload_bytes=LIMIT, **options)

    @app.enter("/", model=FORM, summary="Files")
    async def enter(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, count, inputs=inputs)

    return app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[AppClient]:
    with serving(build(runtime)) as test_client:
        yield test_client


def staged_left(runtime: Runtime) -> list[Path]:
    folder = runtime.runs_dir / ".uploads"
    return list(folder.rglob("*")) if folder.exists() else []


def test_uploads_land_in_the_runs_in_folder(client: AppClient, runtime: Runtime) -> None:
    files = [
        ("docs", ("a.txt", b"alpha", "text/plain")),
        ("docs", ("b.csv", b"x,y\n", "text/csv")),
        ("extra", ("", b"", "application/octet-stream")),  # a file input left empty
    ]
    answer = client.post("/", data={"title": "t"}, files=files)
    assert answer.status_code == 202, answer.text
    run = ended(runtime, answer.json()["run_id"])
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result == {"docs": ["in/a.txt", "in/b.csv"], "extra": [], "sizes": [5, 4]}
    assert run.params["docs"] == ["in/a.txt", "in/b.csv"]  # the record holds paths
    folder = runtime.runs_dir / run.id / "in"
    assert (folder / "a.txt").read_bytes() == b"alpha"
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.csv"]
    assert staged_left(runtime) == []


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..", "upload"),
        ("a/b/c.txt", "c.txt"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("evil\x00.txt", "evil.txt"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        (".hidden", "hidden"),
        ("  spaced . ", "spaced"),
        ("\u202egnp.exe", "gnp.exe"),  # a right-to-left override is a format character
        ("é" * 150 + ".pdf", "é" * 98 + ".pdf"),
    ],
)
def test_safe_names(given: str, kept: str) -> None:
    assert safe_name(given) == kept
    assert len(safe_name(given).encode()) <= 200


def test_bad_names_are_sanitised_and_collisions_numbered(
    client: AppClient, runtime: Runtime
) -> None:
    files = [
        ("docs", ("../../outside.txt", b"1", "text/plain")),
        ("docs", ("x/y/outside.txt", b"22", "text/plain")),
        ("docs", ("..\\outside.txt", b"333", "text/plain")),
        ("extra", ("outside.txt", b"4444", "text/plain")),
    ]
    answer = client.post("/", data={"title": "t"}, files=files)
    assert answer.status_code == 202, answer.text
    run = ended(runtime, answer.json()["run_id"])
    assert run.result["docs"] == ["in/outside.txt", "in/outside (1).txt", "in/outside (2).txt"]
    assert run.result["extra"] == ["in/outside (3).txt"]
    assert run.result["sizes"] == [1, 2, 3]
    # Nothing was written beside the run's folder, or above it.
    assert not (runtime.runs_dir / "outside.txt").exists()
    assert not (runtime.runs_dir.parent / "outside.txt").exists()


def test_a_nul_in_a_name_is_dropped(client: AppClient, runtime: Runtime) -> None:
    # httpx refuses to send a NUL in a header value: the multipart body written by hand.
    body = (
        b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\nt\r\n'
        b'--B\r\nContent-Disposition: form-data; name="docs"; filename="a\x00/../b.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhi\r\n--B--\r\n"
    )
    answer = client.post(
        "/", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert answer.status_code == 202, answer.text
    assert ended(runtime, answer.json()["run_id"]).result["docs"] == ["in/b.txt"]


def test_an_over_size_file_answers_413_and_launches_nothing(
    client: AppClient, runtime: Runtime
) -> None:
    files = [("docs", ("big.bin", b"x" * (LIMIT + 1), "application/octet-stream"))]
    answer = client.post("/", data={"title": "t"}, files=files)
    assert answer.status_code == 413
    assert "big.bin" in answer.json()["detail"] and str(LIMIT) in answer.json()["detail"]
    assert nothing_recorded(runtime)
    assert staged_left(runtime) == []
    # At the limit it is taken.
    files = [("docs", ("fits.bin", b"x" * LIMIT, "application/octet-stream"))]
    assert client.post("/", data={"title": "t"}, files=files).status_code == 202


def test_uploads_over_the_total_answer_413(runtime: Runtime) -> None:
    with serving(build(runtime, max_upload_total=LIMIT + 500)) as client:
        files = [("docs", (f"{i}.bin", b"x" * 600, "application/octet-stream")) for i in range(3)]
        answer = client.post("/", data={"title": "t"}, files=files)
        assert answer.status_code == 413
        assert "together" in answer.json()["detail"]
        assert nothing_recorded(runtime)
        assert staged_left(runtime) == []


def test_a_declared_length_over_the_total_is_refused_before_reading(
    client: AppClient, runtime: Runtime
) -> None:
    # The declared length alone decides: the body is never read.
    answer = client.post(
        "/",
        content=b"--B--\r\n",
        headers={"content-type": "multipart/form-data; boundary=B", "content-length": str(10**9)},
    )
    assert answer.status_code == 413
    assert nothing_recorded(runtime)


def test_invalid_inputs_with_uploads_leave_nothing(client: AppClient, runtime: Runtime) -> None:
    files = [("docs", ("a.txt", b"alpha", "text/plain"))]
    answer = client.post("/", data={}, files=files)  # the title is missing
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"title": ["field required"]}
    answer = client.post("/", data={"title": "t"})  # no documents
    assert answer.json()["errors"] == {"docs": ["field required"]}
    assert nothing_recorded(runtime)
    assert staged_left(runtime) == []
    assert [p for p in runtime.runs_dir.iterdir() if p.name != ".uploads"] == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--B\r\n"),  # no boundary declared
        ("multipart/form-data; boundary=B", b"garbage without parts"),
        (
            "multipart/form-data; boundary=B",
            b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n",
        ),
    ],
)
def test_broken_multipart_bodies_answer_422(
    client: AppClient, runtime: Runtime, content_type: str, body: bytes
) -> None:
    answer = client.post("/", content=body, headers={"content-type": content_type})
    assert answer.status_code == 422, answer.text
    assert nothing_recorded(runtime)
    assert staged_left(runtime) == []


def test_an_upload_over_real_http_is_streamed(runtime: Runtime, tmp_path: Path) -> None:
    """Through uvicorn, in chunks: a file larger than one chunk arrives whole, and one over
    the limit is refused."""
    import threading

    import uvicorn

    from tests.server.conftest import _free_socket
    from tests.waiting import wait_until

    app = build(runtime)
    app._uploads = type(app._uploads)(LIMIT * 300, LIMIT * 300)  # ~300 kB: several chunks
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", ws="none"))
    sock = _free_socket()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 20, "the service to start")
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        data = bytes(range(256)) * 1000
        answer = httpx.post(url, data={"title": "t"}, files={"docs": ("big.bin", data)})
        assert answer.status_code == 202, answer.text
        run = ended(runtime, answer.json()["run_id"])
        assert (runtime.runs_dir / run.id / "in" / "big.bin").read_bytes() == data
        answer = httpx.post(url, data={"title": "t"}, files={"docs": ("big.bin", data * 2)})
        assert answer.status_code == 413
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
