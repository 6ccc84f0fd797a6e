"""RunFilter.params: runs found by their params in the store (SQLite and PostgreSQL) and
in the memory sink, with JSON's types (a number never equals its text, nor a bool)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hoist.runs.models import Run, new_run_id
from hoist.runs.reader import RunFilter
from hoist.runs.sinks.memory import MemorySink
from hoist.runs.store import RunStore

PARAMS: dict[str, dict[str, Any]] = {
    "a": {"lr": 0.1, "epochs": 3, "model": "small", "flag": True, "note": None},
    "b": {"lr": 0.01, "epochs": 3.0, "model": "large", "flag": False, "tags": ["x", "y"]},
    "c": {"lr": "0.1", "epochs": "3", "model": "small", "odd key.name": 1},
}
CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"model": "small"}, {"a", "c"}),
    ({"lr": 0.1}, {"a"}),  # not c's text "0.1"
    ({"lr": "0.1"}, {"c"}),
    ({"epochs": 3}, {"a", "b"}),  # 3 == 3.0
    ({"model": "small", "epochs": 3}, {"a"}),
    ({"flag": True}, {"a"}),
    ({"flag": False}, {"b"}),
    ({"note": None}, {"a"}),  # present and null; absent is no match
    ({"odd key.name": 1}, {"c"}),
    ({"missing": 1}, set()),
    ({'quote"d': 1}, set()),
]


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    s = RunStore(store_url)
    yield s
    s.close()


def _runs() -> dict[str, Run]:
    return {name: Run(id=new_run_id(), plugin="p", action="a", params=params)
            for name, params in PARAMS.items()}  # fmt: skip


@pytest.mark.parametrize(("params", "expected"), CASES)
def test_store_lists_runs_by_params(
    store: RunStore, params: dict[str, Any], expected: set[str]
) -> None:
    runs = _runs()
    store.write_batch(list(runs.values()), [])
    names = {r.id: n for n, r in runs.items()}
    found = store.list_runs(RunFilter(params=params))
    assert {names[r.id] for r in found} == expected


@pytest.mark.parametrize(("params", "expected"), CASES)
def test_memory_sink_lists_runs_by_params(params: dict[str, Any], expected: set[str]) -> None:
    runs = _runs()
    sink = MemorySink()
    for run in runs.values():
        sink.open_run(run)
    names = {r.id: n for n, r in runs.items()}
    assert {names[r.id] for r in sink.list_runs(RunFilter(params=params))} == expected
