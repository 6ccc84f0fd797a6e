"""Compare runs side by side: their params (the differences highlighted), their metrics
overlaid on one chart per metric, and their results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from hoist.errors import UserInputError
from hoist.runs.models import Run
from hoist.runs.short_ids import short_id
from hoist.server.deps import State
from hoist.server.panel.access import PageViewer
from hoist.server.panel.charts import metric_series, plotly_url
from hoist.server.panel.outputs import OutputView, result_view
from hoist.server.panel.routing import PanelRoute
from hoist.server.panel.templating import render_page
from hoist.server.state import ServerState

__all__ = ["MAX_COMPARED", "ParamRow", "param_rows", "router"]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

MAX_COMPARED = 10
"""Runs one compare page shows at most."""
_MISSING = object()


@dataclass(frozen=True, slots=True)
class ParamRow:
    """One param of the compared runs: its value in each run (``""`` where a run has
    none) and whether they differ."""

    key: str
    values: list[str]
    differs: bool


def _shown(value: Any) -> str:
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def param_rows(runs: list[Run]) -> list[ParamRow]:
    """The union of the runs' params, sorted by name, differing ones flagged."""
    keys = sorted({key for run in runs for key in run.params})
    rows = []
    for key in keys:
        raw = [run.params.get(key, _MISSING) for run in runs]
        marks = [json.dumps(v, sort_keys=True, default=str) if v is not _MISSING else None
                 for v in raw]  # fmt: skip
        rows.append(ParamRow(key, [_shown(v) for v in raw], len(set(marks)) > 1))
    return rows


def _compare_context(state: ServerState, ids: list[str]) -> dict[str, Any]:
    runs: list[Run] = []
    for run_id in ids:
        run = state.store.get_run(run_id)  # 404 for an unknown id
        if all(run.id != seen.id for seen in runs):
            runs.append(run)
    series = []
    results: list[OutputView | None] = []
    for run in runs:
        series.extend(metric_series(state.store, run, label=short_id(run.id)))
        results.append(result_view(state.store, run))
    return {
        "runs": runs, "rows": param_rows(runs), "results": results,
        "chart": {"runs": series, "terminal": True}, "chart_lib": plotly_url(),
    }  # fmt: skip


@router.get("/runs/compare")
async def compare_page(
    request: Request,
    state: State,
    principal: PageViewer,
    ids: Annotated[list[str], Query(max_length=MAX_COMPARED * 4)] = [],  # noqa: B006
) -> HTMLResponse:
    """Runs ``ids`` side by side (two or more; select them in the runs list)."""
    clean = list(dict.fromkeys(i for i in ids if i))
    if len(clean) < 2:
        raise UserInputError("Choose two or more runs to compare (tick them in the runs list).")
    if len(clean) > MAX_COMPARED:
        raise UserInputError(f"Compare at most {MAX_COMPARED} runs at once.")
    for run_id in clean:
        if len(run_id) > 40 or not run_id.replace("-", "").replace("_", "").isalnum():
            raise UserInputError(f"Not a run id: {run_id[:40]!r}")
    context = await anyio.to_thread.run_sync(_compare_context, state, clean)
    return render_page(request, "compare.html", principal, **context)
