"""Ingest: remote workers post batches of runs and events (idempotent on ``(run_id, seq)``)."""

from __future__ import annotations

import math
import re

from fastapi import APIRouter

from hoist.errors import ParamsValidationError
from hoist.server.api import API_PREFIX
from hoist.server.deps import Operator, State, responses
from hoist.server.schemas import ID_PATTERN, IngestBatch, IngestResult

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["ingest"])

_ID = re.compile(ID_PATTERN)
_MAX_SEQ = 2**31 - 1
_LENGTHS = {"plugin": 200, "action": 200, "mode": 20}


def _check(batch: IngestBatch) -> dict[str, list[str]]:
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
    return errors


@router.post("/ingest", response_model=IngestResult, responses=responses(400, 401, 403, 413, 422))
def ingest(batch: IngestBatch, state: State, principal: Operator) -> IngestResult:
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
    state.store.heartbeat(sorted(touched))  # a worker that posts is alive
    state.metrics.events_ingested.inc(events_added)
    state.hub.notify(touched)
    return IngestResult(runs_added=runs_added, events_added=events_added)
