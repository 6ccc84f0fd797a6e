"""What a resumed pipeline run starts from: the checkpoints of the run it resumes."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hoist.errors import ResumeError
from hoist.runs.models import RunKind, RunStatus
from hoist.runs.reader import STALE_AFTER, RunLog

__all__ = ["Checkpoint", "ResumeState", "load_resume_state"]


class Checkpoint(BaseModel):
    """What a pipeline run records after each finished node (or fan-out item)."""

    node: str
    result: Any = None
    params: dict[str, Any] = {}
    run_id: str | None = None
    artifacts_path: str | None = None
    attempts: int = 1
    item: int | None = None


SECRET_PARAMS = "secret_params"
"""The pipeline run's ``meta`` key naming its params recorded masked."""


@dataclass
class ResumeState:
    """The run to resume, what finished in it, and the params to run with."""

    run_id: str
    params: dict[str, Any]
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    working_dir: str | None = None
    already_succeeded: bool = False
    result: Any = None


def load_resume_state(
    log: RunLog,
    run_id: str,
    params: Mapping[str, Any] | None,
    *,
    allow_param_changes: bool = False,
    force: bool = False,
    runs_dir: Path | None = None,
) -> ResumeState:
    """Read the run to resume and its checkpoints.

    Args:
        runs_dir: where runs keep their files here; the working folder the run records
            (which the resumed run goes on writing in) must be inside it.

    Raises:
        RunNotFoundError: no such run.
        ResumeError: not a pipeline run, still alive (heartbeat within
            :data:`STALE_AFTER` seconds, unless ``force``), params changed (unless
            allowed), a checkpoint is corrupt or missing, or the recorded working
            folder is outside ``runs_dir``.
    """
    old = log.get_run(run_id)
    if old.kind != RunKind.PIPELINE:
        raise ResumeError(old.id, f"it is an {old.kind} run, not a pipeline run")
    if old.status is RunStatus.SUCCEEDED:
        return ResumeState(old.id, dict(old.params), already_succeeded=True, result=old.result)
    if not old.status.is_terminal and not force:
        beat = old.heartbeat_at or old.started_at or old.created_at
        age = time.time() - beat
        if age < STALE_AFTER:
            raise ResumeError(
                old.id,
                f"it is still {old.status} (last heartbeat {age:.0f}s ago); cancel it, wait "
                f"{STALE_AFTER:.0f}s for it to go stale, or force the resume",
            )
    chosen = dict(old.params) if params is None else dict(params)
    secret = set(old.meta.get(SECRET_PARAMS) or ())
    # Secrets are recorded masked: they are given again, and may differ from the mask.
    changed = sorted(
        k for k in set(chosen) | set(old.params)
        if k not in secret and chosen.get(k) != old.params.get(k)
    )  # fmt: skip
    if changed and not allow_param_changes:
        raise ResumeError(
            old.id,
            f"params differ from the original run ({', '.join(changed)}); "
            "allow param changes explicitly to resume with them",
        )
    missing = sorted(k for k in secret if k not in chosen or chosen[k] == old.params.get(k))
    if missing:
        raise ResumeError(
            old.id,
            f"secret params are never stored: give {', '.join(missing)} again to resume",
        )
    return ResumeState(
        old.id,
        chosen,
        _checkpoints(log, old.id),
        working_dir=_working_dir(old.id, old.meta.get("working_dir"), runs_dir),
    )


def _working_dir(run_id: str, recorded: Any, runs_dir: Path | None) -> str | None:
    """The recorded working folder, if it is one this process may write in: a record
    (perhaps forged) must not point the resumed run at any folder of the machine."""
    if recorded is None:
        return None
    if not isinstance(recorded, str) or not recorded or "\x00" in recorded:
        raise ResumeError(run_id, "its record is corrupt: working_dir must be a folder path")
    if runs_dir is not None:
        base = runs_dir.resolve()
        if not Path(recorded).resolve().is_relative_to(base):
            raise ResumeError(run_id, "its working folder is outside the runs folder here")
    return recorded


def _checkpoints(log: RunLog, run_id: str) -> dict[str, Checkpoint]:
    found: dict[str, Checkpoint] = {}
    finished: list[str] = []
    for event in log.events(run_id):
        if event.type == "checkpoint":
            try:
                checkpoint = Checkpoint.model_validate({"node": event.name, **event.data})
            except ValidationError as exc:
                raise ResumeError(
                    run_id, f"checkpoint of node '{event.name}' is corrupt: {exc.errors()[0]}"
                ) from None
            found[event.name] = checkpoint
        elif event.type == "step" and event.phase == "finished":
            finished.append(event.step)
    missing = [key for key in finished if key not in found]
    if missing:
        raise ResumeError(run_id, f"checkpoint of node '{missing[0]}' is missing")
    return found
