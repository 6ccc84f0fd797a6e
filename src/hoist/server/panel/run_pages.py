"""Run pages: the runs list, a run's page and its live parts and outputs, cancel and
resume."""

from __future__ import annotations

import re
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from hoist.errors import UserInputError
from hoist.runs.models import Run, RunKind, RunStatus
from hoist.runs.reader import RunFilter, page_cursor, parse_cursor
from hoist.server.accounts import Role
from hoist.server.auth import Principal
from hoist.server.deps import State
from hoist.server.errors import ApiError
from hoist.server.panel import charts, compare_pages
from hoist.server.panel.access import PageOperator, PageViewer
from hoist.server.panel.digest import digest_run, list_bars
from hoist.server.panel.events import log_lines
from hoist.server.panel.locks import LockPost, locks_context
from hoist.server.panel.outputs import output_window
from hoist.server.panel.reads import LOG_PAGE, log_window
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.run_search import RunSearch, run_search
from hoist.server.panel.templating import page_headers, render, render_page
from hoist.server.schemas import CURSOR_PATTERN, ID_PATTERN, MAX_OFFSET, ResumeRequest
from hoist.server.state import ServerState

__all__ = ["PAGE_SIZE", "router", "run_page_response"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)
router.include_router(compare_pages.router)  # /runs/compare before /runs/{run_id}
router.include_router(charts.router)
router.include_router(charts.library_router)

PAGE_SIZE = 25
"""Runs per page of the runs list."""
RunId = Annotated[str, PathParam(pattern=ID_PATTERN)]
_MAX_SEQ = 2**31 - 1


def _list(state: ServerState, flt: RunFilter) -> tuple[list[Run], dict[str, Any]]:
    runs = state.store.list_runs(flt)
    return runs, list_bars(state.store, runs[:PAGE_SIZE])


@router.get("/runs")
async def runs_page(
    request: Request,
    state: State,
    principal: PageViewer,
    search: Annotated[RunSearch, Depends(run_search)],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """Runs, newest first, a page at a time, with live status and progress; searched by
    status, kind, plugin, action, time and params (hoist.server.panel.run_search).

    "Older" follows a keyset ``cursor`` (the last run shown), so any page costs the same
    however deep; ``page`` is the number shown. Without a cursor, ``page`` is read as an
    offset up to the API's :data:`MAX_OFFSET` (a bookmarked early page)."""
    after = None if cursor is None else _cursor(cursor)
    offset = 0 if after is not None else (page - 1) * PAGE_SIZE
    if offset > MAX_OFFSET:
        raise UserInputError(f"Page {page} is too deep to open by number: follow “Older →”.")
    flt = search.filter(limit=PAGE_SIZE + 1, offset=offset, cursor=after)
    runs, bars = await anyio.to_thread.run_sync(_list, state, flt)
    shown = runs[:PAGE_SIZE]
    query = search.query
    return render_page(
        request, "runs.html", principal, runs=shown, bars=bars, page=page,
        older=page_cursor(shown[-1]) if len(runs) > PAGE_SIZE else None,
        filters=query, statuses=list(RunStatus), kinds=list(RunKind),
        live=page == 1 and not query,
    )  # fmt: skip


def _cursor(text: str) -> tuple[float, str]:
    if re.fullmatch(CURSOR_PATTERN, text) is None:
        raise UserInputError("Not a page of the runs list: open the list and follow “Older →”.")
    return parse_cursor(text)


def _run_context(
    state: ServerState, run_id: str, before: int | None, principal: Principal,
    posted: LockPost | None = None, notice: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    # The log first, then the run: the page's status is never older than the last event
    # it shows (its stream starts after that event, so an older status would stay). The
    # id as typed may be a prefix or a short form: the log is read by the full one.
    run_id = state.store.get_run(run_id).id
    window = log_window(state.store, run_id, before, LOG_PAGE)
    run = state.store.get_run(run_id)
    digest = digest_run(state.store, run, state.runtime.runs_dir, settings=state.runtime.settings)
    lines = log_lines(window.events)
    locks = locks_context(state.store, run, principal, posted, notice)
    return {"run": run, "d": digest, "log": window, "lines": lines, "before": before, **locks,
            "chart_lib": charts.plotly_url()}  # fmt: skip


def _log_context(state: ServerState, run_id: str, before: int) -> dict[str, Any]:
    run = state.store.get_run(run_id)
    window = log_window(state.store, run.id, before, LOG_PAGE)
    return {"run": run, "log": window, "lines": log_lines(window.events)}


def _parts_context(state: ServerState, run_id: str, principal: Principal) -> dict[str, Any]:
    run = state.store.get_run(run_id)
    runtime = state.runtime
    digest = digest_run(
        state.store, run, runtime.runs_dir, outputs=False, settings=runtime.settings
    )
    return {"run": run, "d": digest, **locks_context(state.store, run, principal)}


def _outputs_context(
    state: ServerState, run_id: str, before: int | None, after: int
) -> dict[str, Any]:
    run = state.store.get_run(run_id)
    return {"w": output_window(state.store, run.id, before=before, after=after)}


@router.get("/runs/{run_id}")
async def run_page(
    request: Request,
    run_id: RunId,
    state: State,
    principal: PageViewer,
    before: Annotated[int | None, Query(ge=1, le=_MAX_SEQ)] = None,
) -> HTMLResponse:
    """A run: its tree of child runs and steps with their bars, the latest page of its
    log (older pages on demand), metrics, messages, result, artifacts and files, and
    the form of a lock waiting for an answer."""
    return await run_page_response(request, state, principal, run_id, before=before)


async def run_page_response(
    request: Request,
    state: ServerState,
    principal: Principal,
    run_id: str,
    *,
    before: int | None = None,
    status_code: int = 200,
    posted: LockPost | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    """The run page, with a lock's posted answer and its errors (``posted``) or a
    sentence about the last answer (``notice``) when an answer comes back to it."""
    context = await anyio.to_thread.run_sync(
        _run_context, state, run_id, before, principal, posted, notice
    )
    return render_page(request, "run.html", principal, status_code=status_code, **context)


@router.get("/runs/{run_id}/parts")
async def run_parts(
    request: Request, run_id: RunId, state: State, principal: PageViewer
) -> HTMLResponse:
    """The run page's live sections (header, bars and tree, messages, outcome) as one
    HTML fragment: the page's script swaps them in as the run moves on."""
    context = await anyio.to_thread.run_sync(_parts_context, state, run_id, principal)
    html = render("parts.html", **context, **_viewer(principal))
    return HTMLResponse(html, headers=page_headers())


@router.get("/runs/{run_id}/log")
async def run_log(
    run_id: RunId,
    state: State,
    principal: PageViewer,
    before: Annotated[int, Query(ge=1, le=_MAX_SEQ)],
) -> HTMLResponse:
    """The page of log lines right before seq ``before``, as an HTML fragment: the run
    page's script inserts it above the lines it shows ("Load earlier events")."""
    context = await anyio.to_thread.run_sync(_log_context, state, run_id, before)
    return HTMLResponse(render("log.html", **context), headers=page_headers())


@router.get("/runs/{run_id}/outputs")
async def run_outputs(
    run_id: RunId,
    state: State,
    principal: PageViewer,
    before: Annotated[int | None, Query(ge=1, le=_MAX_SEQ)] = None,
    after: Annotated[int, Query(ge=0, le=_MAX_SEQ)] = 0,
) -> HTMLResponse:
    """A page of the run's outputs (rendered and sanitised) as an HTML fragment: the
    newest ones after seq ``after`` (what a live page has not shown yet) or right before
    seq ``before`` ("Load earlier output")."""
    context = await anyio.to_thread.run_sync(_outputs_context, state, run_id, before, after)
    return HTMLResponse(render("outputs.html", **context), headers=page_headers())


def _viewer(principal: Principal) -> dict[str, Any]:
    return {"csrf_token": principal.csrf_token,
            "can_operate": principal.user.role.allows(Role.OPERATOR)}  # fmt: skip


def _cancel(state: ServerState, run_id: str) -> str:
    run = state.store.get_run(run_id)
    try:
        state.launcher.cancel(run.id)
    except ApiError as exc:
        if exc.status_code != 409:  # already ended: the page shows how
            raise
    return run.id


@router.post("/runs/{run_id}/cancel")
async def cancel_run(run_id: RunId, state: State, principal: PageOperator) -> RedirectResponse:
    """Ask the run to stop (operators; the form carries the CSRF token)."""
    found = await anyio.to_thread.run_sync(_cancel, state, run_id)
    return RedirectResponse(f"/runs/{found}", 303)


@router.post("/runs/{run_id}/resume")
async def resume_run(run_id: RunId, state: State, principal: PageOperator) -> RedirectResponse:
    """Resume a pipeline run; its finished actions are skipped (operators)."""
    new_id = await anyio.to_thread.run_sync(state.launcher.resume, run_id, ResumeRequest())
    state.metrics.runs_launched.labels("pipeline", "resume").inc()
    return RedirectResponse(f"/runs/{new_id}", 303)


def _bars(state: ServerState, ids: list[str]) -> dict[str, Any]:
    runs = state.store.runs_by_ids(ids)
    bars = list_bars(state.store, runs)
    return {
        run.id: {"status": str(run.status), "state": bars[run.id].state,
                 "percent": bars[run.id].percent}
        for run in runs
    }  # fmt: skip


@router.get("/panel/bars")
async def run_bars(
    state: State,
    principal: PageViewer,
    ids: Annotated[list[str], Query(max_length=100)],
) -> JSONResponse:
    """Status and main-bar percent of the listed runs (the runs list refreshes its bars
    with this while some of its runs are active)."""
    clean = [i for i in ids if len(i) <= 40 and i.replace("-", "").replace("_", "").isalnum()]
    found = await anyio.to_thread.run_sync(_bars, state, clean)
    return JSONResponse(found, headers={"Cache-Control": "no-store"})
