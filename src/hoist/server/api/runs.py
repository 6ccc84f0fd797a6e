"""Runs: list, read, launch, cancel, resume; their events (pages and live streams) and
the files in their folder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse

from hoist.errors import ConfigError, StorageError, StorageNotFoundError
from hoist.runs.artifacts import CHUNK, ArtifactStore, find_published, list_run_files, safe_path
from hoist.runs.models import Run, RunKind, RunStatus
from hoist.runs.reader import RunFilter, page_cursor, parse_cursor
from hoist.server.api import API_PREFIX
from hoist.server.api.ingest import writer_of
from hoist.server.auth import Principal
from hoist.server.deps import Operator, State, Viewer, responses
from hoist.server.errors import ApiError
from hoist.server.schemas import (
    CURSOR_PATTERN,
    ID_PATTERN,
    MAX_OFFSET,
    NAME_PATTERN,
    ArtifactInfo,
    CancelResult,
    ErrorBody,
    EventPage,
    LaunchRequest,
    LaunchResult,
    ResumeRequest,
    RunPage,
)
from hoist.server.sse import SSE_HEADERS, run_events_stream, runs_stream
from hoist.services.files import published_path

__all__ = ["router"]

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])

RunId = Annotated[
    str,
    PathParam(
        pattern=ID_PATTERN,
        description="A run id, a unique prefix of it or its short form (last 8 characters).",
    ),
]
_MAX_SEQ = 2**31 - 1
#: Artifact path limits, below every common file system's (255 per name, 4096 in all).
_MAX_NAME = 255
_MAX_PATH = 1024
_STORAGE_FAILED: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorBody, "description": "The storage holding the run's artifacts failed"}
}
_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "An SSE stream"}
}


@router.get("", response_model=RunPage, responses=responses(401, 422))
def list_runs(
    state: State,
    principal: Viewer,
    status: Annotated[list[RunStatus] | None, Query()] = None,
    kind: RunKind | None = None,
    parent: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    plugin: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    action: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="A page's `next`: the page after it.")
    ] = None,
) -> RunPage:
    """Runs, newest first, filtered by status (repeatable), kind, parent run and plugin.

    Page on with ``cursor`` (the previous page's ``next``): any depth costs the same.
    ``offset`` skips runs one by one and is kept for small offsets only (at most
    10,000); it applies after the cursor when both are given."""
    try:
        after = None if cursor is None else parse_cursor(cursor)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    flt = RunFilter(
        status=status or None, kind=None if kind is None else str(kind), parent_id=parent,
        plugin=plugin, action=action, limit=limit, offset=offset, cursor=after,
    )  # fmt: skip
    found = state.store.list_runs(flt)
    more = page_cursor(found[-1]) if len(found) == limit else None
    return RunPage(runs=found, limit=limit, offset=offset, next=more)


@router.get("/stream", responses={**_SSE, **responses(401)})
async def stream_runs(state: State, principal: Viewer) -> StreamingResponse:
    """Every run's status changes, as SSE ``event: run`` messages holding the run."""
    return StreamingResponse(
        runs_stream(state.hub, state.keepalive, state.auth.watch(principal)),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@router.post(
    "",
    status_code=202,
    response_model=LaunchResult,
    responses=responses(400, 401, 403, 404, 413, 422),
)
def launch(
    body: LaunchRequest, state: State, principal: Operator, response: Response
) -> LaunchResult:
    """Start an action or a pipeline of a plugin; the run's URL is in ``Location``."""
    run_id = state.launcher.launch(body)
    state.metrics.runs_launched.labels(
        "pipeline" if body.pipeline is not None else "action", body.mode
    ).inc()
    url = f"/api/v1/runs/{run_id}"
    response.headers["Location"] = url
    return LaunchResult(run_id=run_id, status=str(RunStatus.QUEUED), url=url)


@router.get("/{run_id}", response_model=Run, responses=responses(401, 404, 422))
def get_run(run_id: RunId, state: State, principal: Viewer) -> Run:
    """One run: status, params, result or error, timings."""
    return state.store.get_run(run_id)


@router.post(
    "/{run_id}/cancel", status_code=202, response_model=CancelResult,
    responses=responses(401, 403, 404, 409, 422),
)  # fmt: skip
def cancel(run_id: RunId, state: State, principal: Operator) -> CancelResult:
    """Ask a run to stop at its next cancellation point (409 if it already ended)."""
    run = state.launcher.cancel(run_id)
    return CancelResult(run_id=run.id, status=str(run.status), cancel_requested=True)


@router.post(
    "/{run_id}/resume", status_code=202, response_model=LaunchResult,
    responses=responses(400, 401, 403, 404, 409, 422),
)  # fmt: skip
def resume(
    run_id: RunId, body: ResumeRequest, state: State, principal: Operator, response: Response
) -> LaunchResult:
    """Resume a pipeline run: its finished nodes are skipped; a new run is started."""
    new_id = state.launcher.resume(run_id, body)
    state.metrics.runs_launched.labels("pipeline", "resume").inc()
    url = f"/api/v1/runs/{new_id}"
    response.headers["Location"] = url
    return LaunchResult(run_id=new_id, status=str(RunStatus.QUEUED), url=url)


@router.get("/{run_id}/events", response_model=EventPage, responses=responses(401, 404, 422))
def events(
    run_id: RunId,
    state: State,
    principal: Viewer,
    after: Annotated[int, Query(ge=0, le=_MAX_SEQ, description="Events with seq > after.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> EventPage:
    """A page of the run's events in ``seq`` order."""
    run = state.store.get_run(run_id)
    found = state.store.events(run.id, after, limit + 1)
    page = found[:limit]
    return EventPage(
        run_id=run.id,
        events=page,
        next_after=page[-1].seq if page else after,
        has_more=len(found) > limit,
    )


@router.get("/{run_id}/events/stream", responses={**_SSE, **responses(400, 401, 404, 422)})
def stream_events(
    run_id: RunId,
    state: State,
    principal: Viewer,
    after: Annotated[int, Query(ge=0, le=_MAX_SEQ)] = 0,
    last_event_id: Annotated[
        str, Header(pattern=r"^[0-9]{0,20}$", description="The last seq received (or empty).")
    ] = "",
) -> StreamingResponse:
    """The run's events as SSE (``id:`` is the event's seq), live, ending with its
    terminal status event. Reconnect with ``Last-Event-ID`` to get exactly what was missed."""
    run = state.store.get_run(run_id)
    if last_event_id:  # past the last seq there can be: nothing to replay
        after = max(after, min(int(last_event_id), _MAX_SEQ))
    return StreamingResponse(
        run_events_stream(
            state.hub, state.store, run.id, after, state.keepalive, state.auth.watch(principal)
        ),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@router.get(
    "/{run_id}/artifacts",
    response_model=list[ArtifactInfo],
    responses={**responses(401, 404, 422), **_STORAGE_FAILED},
)
def list_artifacts(run_id: RunId, state: State, principal: Viewer) -> list[ArtifactInfo]:
    """Files in the run's folder (paths relative to it, sizes in bytes), with those of its
    ``artifacts/`` published to a storage location (``HOIST_ARTIFACTS``) when the run
    ended; 502 when that location cannot be read."""
    run = state.store.get_run(run_id)
    runtime = state.runtime
    with _storage_errors():
        files = list_run_files(
            runtime.runs_dir, run.id, store=state.store, settings=runtime.settings
        )
    return [ArtifactInfo(path=path, size=size) for path, size in files]


@router.get(
    "/{run_id}/artifacts/{path:path}",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        **responses(400, 401, 404),
        **_STORAGE_FAILED,
    },
)  # fmt: skip
def get_artifact(run_id: RunId, path: str, state: State, principal: Viewer) -> Response:
    """A file from the run's folder, or from where its artifacts were published when it
    is not there (any more); paths that leave the folder are refused (400)."""
    run = state.store.get_run(run_id)
    base = (state.runtime.runs_dir / run.id).resolve()
    target = _inside(base, path)
    if target.is_file():
        return FileResponse(target, filename=target.name)
    remote = _published(state, run.id)
    if remote is None:
        raise ApiError(404, "no such file in the run folder")
    with _storage_errors():
        try:
            source = remote.open(run.id, path)
        except (FileNotFoundError, StorageNotFoundError):
            raise ApiError(404, "no such file in the run folder") from None
    name = PurePosixPath(path).name
    return StreamingResponse(
        _chunks(source),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def _published(state: Any, run_id: str) -> ArtifactStore | None:
    """Where ``run_id``'s artifacts were published (its newest record), or ``None``."""
    with _storage_errors():
        return find_published(state.store, run_id, state.runtime.runs_dir, state.runtime.settings)


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    with source:
        while chunk := source.read(CHUNK):
            yield chunk


@contextmanager
def _storage_errors() -> Iterator[None]:
    """A storage location that fails becomes 502 with its message (never a secret)."""
    try:
        yield
    except (StorageError, ConfigError) as exc:
        raise ApiError(502, f"run artifacts: {exc}") from None


@router.put(
    "/{run_id}/artifacts/{path:path}",
    status_code=201,
    response_model=ArtifactInfo,
    responses=responses(400, 401, 403, 404, 409, 413),
    openapi_extra={
        "requestBody": {
            "required": False,
            "description": "The file's bytes; none stores an empty file.",
            "content": {"application/octet-stream": {}},
        }
    },
)
async def put_artifact(
    run_id: RunId, path: str, request: Request, state: State, principal: Operator
) -> ArtifactInfo:
    """Store the request body as ``artifacts/<path>`` in a running run's folder (what
    ``ctx.client.upload_file`` sends; a service run's ``in/...`` and ``out/...`` files
    keep their paths); no body stores an empty file. Operators and admins may; a worker
    token only in the runs it posted (403 otherwise). Bodies over the server's size
    limit get 413."""
    run = await anyio.to_thread.run_sync(state.store.get_run, run_id)
    if run.status.is_terminal:
        raise ApiError(409, f"run {run.id} has ended ({run.status}); artifacts come while it runs")
    await anyio.to_thread.run_sync(_may_write_files, state, principal, run)
    base = (state.runtime.runs_dir / run.id).resolve()
    target = _inside(base, published_path(path))
    partial = target.with_name(f".{uuid.uuid4().hex}.part")  # as long as any name may be
    size = 0
    try:
        await anyio.to_thread.run_sync(lambda: target.parent.mkdir(parents=True, exist_ok=True))
        async with await anyio.open_file(partial, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                await out.write(chunk)
        await anyio.to_thread.run_sync(partial.replace, target)
    finally:
        await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))
    return ArtifactInfo(path=target.relative_to(base).as_posix(), size=size)


@router.delete(
    "/{run_id}/artifacts/{path:path}",
    status_code=204,
    response_class=Response,
    responses=responses(400, 401, 403, 404, 409),
)
def delete_artifact(run_id: RunId, path: str, state: State, principal: Operator) -> Response:
    """Delete a file from a running run's folder (``path`` relative to it, as the list
    gives it: what ``RunFiles.remove`` of a service recording through this server
    sends). Who may store a run's files may delete them: operators and admins; a worker
    token only in the runs it posted (403 for another's, or the server's own). A run
    that ended keeps its files (409); a path that leaves the folder is refused (400),
    as is a folder (delete its files); no such file is 404 (what is there, any viewer
    may list)."""
    run = state.store.get_run(run_id)
    if run.status.is_terminal:
        raise ApiError(409, f"run {run.id} has ended ({run.status}); its files stay")
    base = (state.runtime.runs_dir / run.id).resolve()
    target = _inside(base, path)
    link = base / path
    if link.is_symlink() and link.parent.resolve().is_relative_to(base):
        target = link  # the link itself, never what it points at
    elif target.is_dir():
        raise ApiError(400, "a folder: delete the files in it")
    elif not target.is_file():
        raise ApiError(404, "no such file in the run folder")
    _may_write_files(state, principal, run)
    try:
        target.unlink()
    except FileNotFoundError:  # deleted meanwhile
        raise ApiError(404, "no such file in the run folder") from None
    return Response(status_code=204)


def _may_write_files(state: Any, principal: Principal, run: Run) -> None:
    """Who may store or delete a running run's files: an operator or admin (the role
    check is the route's), and a worker token only in the runs it posted (ingest's
    writer record); 403 for another worker's run, or one the server launched."""
    if principal.worker and not state.store.live_runs_of([run.id], writer_of(principal)):
        raise ApiError(403, f"run {run.id} was not posted by this worker token")


def _inside(base: Path, relative: str) -> Path:
    """``base / relative``, refusing absolute paths, ``..``, symlinks out of ``base``, and
    names or paths longer than file systems take."""
    try:
        safe_path(relative)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    parts = PurePosixPath(relative).parts
    if len(relative.encode()) > _MAX_PATH or any(len(p.encode()) > _MAX_NAME for p in parts):
        raise ApiError(
            400,
            f"artifact path too long: at most {_MAX_NAME} bytes per name and {_MAX_PATH} "
            "bytes in all",
        )
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise ApiError(400, "artifact paths must stay inside the run folder")
    return target
