"""``hoist runs show`` summarises a log without holding it: the store's indexed reads
and a server log's page-by-page stream say the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hoist.cli.render import SHOWN_OUTPUTS
from hoist.cli.run_summary import summarise
from hoist.runs.models import (
    EventBase,
    LogEvent,
    OutputEvent,
    ResultEvent,
    Run,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.store import RunStore

RUN = "0123456789abcdef01234567"


class PagedLog:
    """A log that offers only ``events`` (as a server's does)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list:  # type: ignore[type-arg]
        return self.store.events(run_id, after_seq, limit)


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    s = RunStore(store_url)
    evs: list[EventBase] = [StatusEvent(run_id=RUN, seq=1, ts=1.0, status=RunStatus.RUNNING)]
    for seq in range(2, 2600):
        if seq % 100 == 0:
            evs.append(OutputEvent(run_id=RUN, seq=seq, ts=seq, body=f"o{seq}"))
        elif seq % 500 == 1:
            evs.append(StepEvent(run_id=RUN, seq=seq, ts=seq, step=f"s{seq // 1000}",
                                 phase="started" if seq % 1000 == 1 else "finished"))  # fmt: skip
        else:
            evs.append(LogEvent(run_id=RUN, seq=seq, ts=seq, message=str(seq)))
    evs.append(ResultEvent(run_id=RUN, seq=2600, ts=2600.0, value=1, model="Markdown"))
    s.write_batch([Run(id=RUN)], evs)
    yield s
    s.close()


def test_the_store_and_a_paged_log_summarise_alike(store: RunStore) -> None:
    indexed, streamed = summarise(store, RUN), summarise(PagedLog(store), RUN)
    for summary in (indexed, streamed):
        assert summary.counts == {"status": 1, "output": 25, "step": 5, "log": 2568, "result": 1}
        assert summary.result_model == "Markdown"
        assert [e.seq for e in summary.outputs] == list(
            range(2600 - SHOWN_OUTPUTS * 100, 2600, 100)
        )
        assert summary.output_total == 25
        assert [(e.step, e.phase) for e in summary.steps] == [  # type: ignore[attr-defined]
            ("s0", "finished"), ("s1", "started"), ("s1", "finished"),
            ("s2", "started"), ("s2", "finished"),
        ]  # fmt: skip


def test_a_long_run_s_newest_steps_are_read_and_shown(store_url: str) -> None:
    from io import StringIO

    from rich.console import Console
    from rich.tree import Tree

    from hoist.cli.render import SHOWN_STEPS, add_steps

    long_run = "0123456789abcdef0123abcd"
    evs: list[EventBase] = []
    for i in range(150):  # 150 steps, two events each
        for n, phase in enumerate(("started", "finished")):
            seq = 1 + 2 * i + n
            evs.append(StepEvent(run_id=long_run, seq=seq, ts=seq, step=f"s{i:03}", phase=phase))
    s = RunStore(store_url)
    s.write_batch([Run(id=long_run)], evs)
    try:
        for summary in (summarise(s, long_run), summarise(PagedLog(s), long_run)):
            assert len(summary.steps) == 2 * SHOWN_STEPS and summary.older_steps
            assert summary.steps[-1].seq == 300  # the newest
            tree = Tree("run")
            add_steps(tree, summary.steps, older=summary.older_steps)
            out = StringIO()
            Console(file=out, width=100).print(tree)
            text = out.getvalue()
            assert "steps (the newest)" in text and "s149 finished" in text
            assert "s049" not in text and text.count(" finished") == SHOWN_STEPS
    finally:
        s.close()
