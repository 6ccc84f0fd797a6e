"""What ``hoist runs show`` says about a run's log, read in bounded memory: counts by
type, the newest result's model, the newest outputs, each step's last phase.

On the local store these are indexed reads (counts in the ``(run_id, type, seq)`` index,
a few events of one type newest first), so a run of a million events shows as fast as
one of ten; a server's log is read page by page and summarised as it streams, never
held whole.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hoist.cli.render import SHOWN_OUTPUTS, SHOWN_STEPS
from hoist.runs.models import OutputEvent, ResultEvent, StepEvent

if TYPE_CHECKING:
    from hoist.runs.models import Event

__all__ = ["LogSummary", "summarise"]

_PAGE = 1000
_STEP_EVENTS = 2 * SHOWN_STEPS  # the newest step events: two per step (started, ended)


@dataclass
class LogSummary:
    """A run's log in brief."""

    counts: dict[str, int] = field(default_factory=dict)
    result_model: str | None = None
    outputs: list[Event] = field(default_factory=list)
    """The newest :data:`~hoist.cli.render.SHOWN_OUTPUTS` outputs, oldest first."""
    steps: list[Event] = field(default_factory=list)
    """The newest step events (enough for :data:`SHOWN_STEPS` steps), in order."""

    @property
    def output_total(self) -> int:
        """How many outputs the run has in all."""
        return self.counts.get("output", 0)

    @property
    def older_steps(self) -> bool:
        """Whether the run has step events older than :attr:`steps`."""
        return self.counts.get("step", 0) > len(self.steps)


def summarise(log: Any, run_id: str) -> LogSummary:
    """The :class:`LogSummary` of ``run_id`` in ``log`` (a run store or a server's log)."""
    if hasattr(log, "event_counts") and hasattr(log, "events_of_type"):
        results = log.events_of_type(run_id, ("result",), 1, newest_first=True)
        outputs = log.events_of_type(run_id, ("output",), SHOWN_OUTPUTS, newest_first=True)
        return LogSummary(
            counts=log.event_counts(run_id),
            result_model=_model(results[0]) if results else None,
            outputs=outputs[::-1],
            steps=log.events_of_type(run_id, ("step",), _STEP_EVENTS, newest_first=True)[::-1],
        )
    counts = Counter[str]()
    summary = LogSummary()
    newest: deque[Event] = deque(maxlen=SHOWN_OUTPUTS)
    steps: deque[Event] = deque(maxlen=_STEP_EVENTS)
    seq = 0
    while True:
        page = log.events(run_id, after_seq=seq, limit=_PAGE)
        for event in page:
            counts[event.type] += 1
            if isinstance(event, ResultEvent):
                summary.result_model = _model(event)
            elif isinstance(event, OutputEvent):
                newest.append(event)
            elif isinstance(event, StepEvent):
                steps.append(event)
        if len(page) < _PAGE:
            break
        seq = page[-1].seq
    summary.counts, summary.outputs, summary.steps = dict(counts), list(newest), list(steps)
    return summary


def _model(event: Event) -> str | None:
    return event.model if isinstance(event, ResultEvent) else None
