"""Ingest: remote workers post batches of runs and events (idempotent on ``(run_id, seq)``).

Only a worker token (``hoist tokens create USER --worker``) of an operator or admin may
post, and only to the runs that token created: the runs of a batch become its token's,
and an event for a run another token created, or the server launched, is refused (403).
An event for an ended run, or a status its run may not move to, is refused too (409),
and one for a run the server does not know is not found (404, with the field errors
naming the events at fault, as a 422 does); nothing of a refused batch is stored. A
session, a user token or another worker's token can therefore never rewrite a run's
history.

A worker also lists in ``alive`` the runs it is still executing (an empty batch with
only ``alive`` is its heartbeat); the answer's ``cancel_requested`` names those of the
posted and alive runs whose cancellation was asked, so that the worker can stop them.
Only the worker's own runs that have not ended are heartbeated and reported.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationInfo, ValidatorFunctionWrapHandler, model_validator

from hoist.errors import ParamsValidationError, RunWriteError
from hoist.server.api import API_PREFIX
from hoist.server.auth import Principal
from hoist.server.deps import Operator, State, responses
from hoist.server.errors import ApiError
from hoist.server.schemas import ID_PATTERN, ErrorBody, IngestBatch, IngestResult

__all__ = ["WorkerBatch", "WorkerResult", "router", "writer_of"]

router = APIRouter(prefix=API_PREFIX, tags=["ingest"])

_ID = re.compile(ID_PATTERN)
_MAX_SEQ = 2**31 - 1
_LENGTHS = {"plugin": 200, "action": 200, "mode": 20}


class WorkerBatch(IngestBatch):
    """An ingest batch, plus the runs its worker is still executing."""

    alive: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Runs still executing on the worker: heartbeated, cancel flags returned.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _as_json(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """Validate a batch as the JSON it came as, strictly: what its JSON schema refuses
        is refused (``ts: false``, ``seq: "1"``, ``message: 5``), where pydantic's lax
        mode would coerce it. (Strict Python mode cannot do it: it wants the runs and
        events as instances, and statuses as enum members.) FastAPI hands the decoded
        body over as Python data; it goes back to JSON here, once. An integer written
        ``1.0`` is one for JSON Schema, so it is taken as one (strict mode would not)."""
        if info.mode == "json" or not isinstance(data, dict):
            return handler(data)
        try:
            text = json.dumps(_integral(data))
        except (TypeError, ValueError):  # not JSON data (instances): not from the wire
            return handler(data)
        return cls.model_validate_json(text, strict=True)


@functools.cache
def _integer_fields() -> frozenset[str]:
    """The names of the events' integer fields (``seq``, an artifact's ``size``)."""
    found: set[str] = set()
    for definition in WorkerBatch.model_json_schema()["$defs"].values():
        for name, prop in definition.get("properties", {}).items():
            types = [prop.get("type"), *(a.get("type") for a in prop.get("anyOf", []))]
            if "integer" in types:
                found.add(name)
    return frozenset(found)


def _integral(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the events' integral floats in integer fields (``"seq": 2.0``) as
    ints; anything else (``2.5``, params, results) as it came."""
    events = data.get("events")
    if not isinstance(events, list):
        return data
    names = _integer_fields()
    fixed = [
        {k: int(v) if k in names and isinstance(v, float) and v.is_integer() else v
         for k, v in event.items()}
        if isinstance(event, dict) else event
        for event in events
    ]  # fmt: skip
    return {**data, "events": fixed}


class WorkerResult(IngestResult):
    """What was new, and which of the worker's runs were asked to stop."""

    cancel_requested: list[str] = Field(
        default_factory=list, description="Posted or alive runs whose cancellation was asked."
    )


def writer_of(principal: Principal) -> str:
    """The run store's name for the worker ``principal`` is: its token's id."""
    return f"token:{principal.token_id}"


async def _worker(principal: Operator) -> Principal:
    """The caller, who must use a worker token (of an operator or admin), else 403."""
    if principal.via != "token" or not principal.worker:
        raise ApiError(403, "POST /ingest takes a worker token; create one with "
                            "`hoist tokens create USERNAME --worker`")  # fmt: skip
    return principal


Worker = Annotated[Principal, Depends(_worker)]


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
    return errors


@router.post(
    "/ingest",
    response_model=WorkerResult,
    responses=responses(400, 401, 403, 404, 409, 413, 422),
)
def ingest(batch: WorkerBatch, state: State, principal: Worker) -> WorkerResult | JSONResponse:
    """Store a worker's runs and events (a worker token only). Events must belong to a
    run this token created, in this batch or before, that has not ended (403, 409
    otherwise; 404 for a run the server does not know, ``errors`` naming the events);
    posting the same batch again adds nothing and changes nothing."""
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
            return _unknown_runs(sorted(set(wanted) - known), errors)
    writer = writer_of(principal)
    try:
        runs_added, events_added = state.store.ingest(batch.runs, batch.events, writer=writer)
    except RunWriteError as exc:
        raise ApiError(403 if exc.not_writer else 409, exc.message) from exc
    touched = {r.id for r in batch.runs} | {e.run_id for e in batch.events}
    asked = sorted(touched | set(batch.alive))
    watched = sorted(state.store.live_runs_of(asked, writer)) if asked else []
    if watched:
        state.store.heartbeat(watched)  # a worker that posts is alive
    cancelled = state.store.cancel_requested_among(watched) if watched else set()
    state.metrics.events_ingested.inc(events_added)
    if touched:
        state.hub.notify(touched)
    return WorkerResult(
        runs_added=runs_added, events_added=events_added, cancel_requested=sorted(cancelled)
    )


def _unknown_runs(missing: list[str], errors: dict[str, list[str]]) -> JSONResponse:
    """404 for events of runs the server does not know: the first such run as the
    not-found ``kind``/``name``, and the field errors naming every such event (what a
    worker's sink halves a batch by)."""
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    body = ErrorBody(
        detail=f"unknown run {missing[0]!r}{more}", errors=errors, kind="run", name=missing[0]
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=404)
