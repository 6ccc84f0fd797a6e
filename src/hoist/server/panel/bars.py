"""The panel's progress vocabulary: a bar, a span of a timeline, a run's bar state, and
percents and counts as people read them (whole percents, rounded as the CLI rounds)."""

from __future__ import annotations

from dataclasses import dataclass

from hoist.runs.models import Run, RunStatus

__all__ = ["Bar", "Span", "count_of", "run_state", "shown", "shown_count"]

_STATE: dict[str, str] = {
    RunStatus.QUEUED: "pending", RunStatus.RUNNING: "running", "awaiting": "awaiting",
    RunStatus.SUCCEEDED: "done", RunStatus.FAILED: "failed", RunStatus.CANCELLED: "cancelled",
    RunStatus.LOST: "failed",
}  # fmt: skip


def run_state(run: Run) -> str:
    """The bar state of a run: pending, running, awaiting (a person), done, failed or
    cancelled."""
    return _STATE.get(str(run.status), "running")


def shown(value: float | None) -> float | None:
    """A percent as people read it: a whole number, rounded as the terminal's bars round
    (so the panel and the CLI print the same number)."""
    return None if value is None else float(round(value))


@dataclass(frozen=True, slots=True)
class Bar:
    """One progress bar. ``percent`` is ``None`` for an indeterminate bar. A step's bar
    also carries its ``weight`` (its share of the run's main bar, in percent) and
    ``base`` (the share of the steps done before it), so the page can move it with the
    run's progress events."""

    key: str
    label: str
    percent: float | None
    state: str
    detail: str = ""
    weight: float | None = None
    base: float = 0.0


@dataclass(frozen=True, slots=True)
class Span:
    """One bar of a run's timeline: a node's action run or one of its steps, from
    ``start`` to ``end`` (``None``: not started, or still going)."""

    key: str
    label: str
    state: str
    start: float | None
    end: float | None
    level: int = 0


def count_of(current: float, total: float) -> str:
    """``current / total`` as people read it."""
    return f"{shown_count(current)} / {shown_count(total)}"


def shown_count(value: float) -> str:
    """A counter as people read it: ``12``, ``1,200,000``, ``1,234.50``, ``0.333``."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"
