"""Ingest: remote workers post batches of runs and events (idempotent on ``(run_id, seq)``).

A worker also lists in ``alive`` the runs it is still executing (an empty batch with
only ``alive`` is its heartbeat); the answer's ``cancel_requested`` names those of the
posted and alive runs whose cancellation was asked, so that the worker can stop them.
"""

from __future__ import annotations

import math
import re

from fastapi import APIRouter
from pydantic import Field

from hoist.errors import ParamsValidationError
from hoist.server.api import API_PREFIX
from hoist.server.deps import Operator, State, responses
from hoist.server.schemas import ID_PATTERN, IngestBatch, IngestResult

__all__ = ["WorkerBatch", "WorkerResult", "router"]

router = APIRouter(prefix=API_PREFIX, tags=["ingest"])

_ID = re.compile(ID_PATTERN)
_MAX_SEQ = 2**31 - 1
_LENGTHS = {"plugin": 200, "action": 200, "mode": 20}


class WorkerBatch(IngestBatch):
    """An ingest batch, plus the runs its worker is still executing."""

    alive: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Runs still executing on the worker: heartbeated, cancel flags returned.",
    )


class WorkerResult(IngestResult):
    """What was new, and which of the worker's runs were asked to stop."""

    cancel_requested: list[str] = Field(
        default_factory=list, description="Posted or alive runs whose cancellation was asked."
    )


def _check(batch: WorkerBatch) -> dict[str, list[str]]:
    """What the models cannot say: id shapes, column sizes, seq range, known runs."""
    errors: dict[str, list[str]] = {}
    for i, run in enumerate(batch.runs):
        for name, value in (("id", run.id), ("parent_id", run.parent_id)):
            if value is not None and not _ID.match(value):
                errors.setdefault(f"runs.{i}.{name}", []).append(f"must match {ID_PATTERN}")
        for name, limit in _LENGTHS.items():
            value = getattr(run, name)
            if value is not None and (len(value) > limit or "\x00" in value):
                errors.setdefault(f"runs.{i}.{name}", []).append(
                    f"must have at most {limit} characters"
                )
        stamps = (run.created_at, run.started_at, run.finished_at, run.heartbeat_at)
        if any(t is not None and not math.isfinite(t) for t in stamps):
            errors.setdefault(f"runs.{i}", []).append("timestamps must be finite")
    for i, event in enumerate(batch.events):
        if not _ID.match(event.run_id):
            errors.setdefault(f"events.{i}.run_id", []).append(f"must match {ID_PATTERN}")
        if not 1 <= event.seq <= _MAX_SEQ:
            errors.setdefault(f"events.{i}.seq", []).append(f"must be between 1 and {_MAX_SEQ}")
        if not math.isfinite(event.ts):
            errors.setdefault(f"events.{i}.ts", []).append("must be finite")
    for i, run_id in enumerate(batch.alive):
        if not _ID.match(run_id):
            errors.setdefault(f"alive.{i}", []).append(f"must match {ID_PATTERN}")
    return errors


@router.post("/ingest", response_model=WorkerResult, responses=responses(400, 401, 403, 413, 422))
def ingest(batch: WorkerBatch, state: State, principal: Operator) -> WorkerResult:
    """Store a worker's runs and events. Events must belong to a run that is stored or
    in the same batch; posting the same batch again adds nothing and changes nothing."""
    errors = _check(batch)
    if errors:
        raise ParamsValidationError(errors, subject="batch")
    known = {r.id for r in batch.runs}
    wanted = sorted({e.run_id for e in batch.events} - known)
    if wanted:
        known |= state.store.existing_run_ids(wanted)
        for i, event in enumerate(batch.events):
            if event.run_id not in known:
                errors.setdefault(f"events.{i}.run_id", []).append("unknown run")
        if errors:
            raise ParamsValidationError(errors, subject="batch")
    runs_added, events_added = state.store.ingest(batch.runs, batch.events)
    touched = {r.id for r in batch.runs} | {e.run_id for e in batch.events}
    watched = sorted(touched | set(batch.alive))
    if watched:
        state.store.heartbeat(watched)  # a worker that posts is alive
    cancelled = state.store.cancel_requested_among(watched) if watched else set()
    state.metrics.events_ingested.inc(events_added)
    if touched:
        state.hub.notify(touched)
    return WorkerResult(
        runs_added=runs_added, events_added=events_added, cancel_requested=sorted(cancelled)
    )
