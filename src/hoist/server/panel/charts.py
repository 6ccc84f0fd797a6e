"""The panel's charts: the metrics a chart plots (a run's own, a pipeline's rolled up
from its action runs), served as JSON, and the charting library the pages load.

The library is plotly.js as the ``plotly`` package ships it (its ``plotly.min.js``
package data): served from the panel's static route with long cache headers, never
from a CDN, and loaded by ``static/charts.js`` only on a page with something to plot.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response

from hoist.runs.models import Event, MetricsEvent, Run, RunKind
from hoist.runs.reader import RunFilter
from hoist.runs.short_ids import short_id
from hoist.runs.store import RunStore
from hoist.server.deps import State
from hoist.server.panel.access import PageViewer
from hoist.server.panel.reads import MAX_METRIC_POINTS
from hoist.server.panel.routing import PanelRoute
from hoist.server.schemas import ID_PATTERN
from hoist.server.state import ServerState

__all__ = [
    "MAX_CHART_CHILDREN",
    "MAX_ROLLUP_POINTS",
    "PLOTLY_PATH",
    "library_router",
    "metric_points",
    "metric_series",
    "plotly_url",
    "router",
]

router = APIRouter(route_class=PanelRoute, include_in_schema=False)
library_router = APIRouter(include_in_schema=False)
"""The charting library's route: public like the other static files (no login)."""

PLOTLY_PATH = "/static/vendor/plotly.min.js"
MAX_CHART_CHILDREN = 200
"""Action runs of a pipeline whose metrics its charts roll up."""
MAX_ROLLUP_POINTS = 50_000
"""Metrics events of a pipeline's action runs read at most (one query for them all)."""
_YEAR = 365 * 24 * 3600


@lru_cache(maxsize=1)
def _plotly_file() -> Path | None:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = Path(folder) / "package_data" / "plotly.min.js"
        if found.is_file():
            return found
    return None


@lru_cache(maxsize=1)
def plotly_url() -> str:
    """Where a page loads plotly.js from: versioned by the package, so it caches for
    a year and a new release is fetched anew."""
    try:
        version = importlib.metadata.version("plotly")
    except importlib.metadata.PackageNotFoundError:
        version = "none"
    return f"{PLOTLY_PATH}?v={version}"


@library_router.get(PLOTLY_PATH)
async def plotly_js() -> Response:
    """plotly.min.js from the installed ``plotly`` package (404 without it)."""
    found = _plotly_file()
    if found is None:
        return Response("plotly is not installed (pip install 'hoist[server]')", 404)
    headers = {"Cache-Control": f"public, max-age={_YEAR}, immutable"}
    return FileResponse(found, media_type="text/javascript", headers=headers)


def metric_points(
    store: RunStore, run_id: str, limit: int = MAX_METRIC_POINTS
) -> list[dict[str, Any]]:
    """The run's newest ``limit`` metrics events with numeric values, oldest first, as
    ``{"seq", "ts", "category", "values"}`` (what ``charts.js`` plots)."""
    found = store.events_of_type(run_id, ("metrics",), limit, newest_first=True)
    return _points(reversed(found))


def _points(found: Iterable[Event]) -> list[dict[str, Any]]:
    points = []
    for event in found:
        if not isinstance(event, MetricsEvent):
            continue
        values = {k: v for k, v in event.values.items()
                  if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
        if values:
            points.append({"seq": event.seq, "ts": event.ts, "category": event.category,
                           "values": values})  # fmt: skip
    return points


def _start(run: Run) -> float:
    return run.started_at if run.started_at is not None else run.created_at


def _child_label(child: Run) -> str:
    key = str(child.meta.get("node") or child.action or short_id(child.id))
    item = child.meta.get("item")
    return key if item is None else f"{key}[{item}]"


def metric_series(store: RunStore, run: Run, label: str = "") -> list[dict[str, Any]]:
    """The series sources of ``run``'s charts: the run itself, and for a pipeline each
    of its action runs (labelled by their node) — ``{"id", "label", "start", "points"}``
    each, those without metrics left out."""
    out = []
    own = metric_points(store, run.id)
    if own:
        out.append({"id": run.id, "label": label or run.action or short_id(run.id),
                    "start": _start(run), "points": own})  # fmt: skip
    if run.kind is RunKind.PIPELINE:
        children = store.list_runs(RunFilter(parent_id=run.id, limit=MAX_CHART_CHILDREN))
        children.sort(key=lambda r: (r.created_at, r.id))
        ids = [child.id for child in children]
        among = store.events_of_type_among(ids, ("metrics",), MAX_ROLLUP_POINTS) if ids else {}
        for child in children:
            points = _points(among.get(child.id, [])[-MAX_METRIC_POINTS:])
            if points:
                name = _child_label(child)
                out.append({"id": child.id, "label": f"{label} {name}".strip(),
                            "start": _start(child), "points": points})  # fmt: skip
    return out


def _series_of(state: ServerState, run_id: str) -> dict[str, Any]:
    run = state.store.get_run(run_id)
    return {"runs": metric_series(state.store, run), "terminal": run.status.is_terminal}


@router.get("/runs/{run_id}/metrics")
async def run_metrics(
    run_id: Annotated[str, PathParam(pattern=ID_PATTERN)], state: State, principal: PageViewer
) -> JSONResponse:
    """The run's chart data as JSON (a pipeline's page polls it while the pipeline runs:
    its action runs' metrics come from their own logs)."""
    found = await anyio.to_thread.run_sync(_series_of, state, run_id)
    return JSONResponse(found, headers={"Cache-Control": "no-store"})
