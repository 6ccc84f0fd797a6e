"""The example plugins do real work, checked independently of their own code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hoist import RunCancelledError, run_plugin
from hoist.executors.local import LocalExecutor
from hoist.pipelines.config import pipeline_from_config
from hoist.plugins.discovery import load_plugin
from hoist.runs.models import RunStatus
from hoist.runs.sinks.memory import MemorySink
from tests.conftest import EXAMPLES
from tests.waiting import wait_until

TEXT_STATS = EXAMPLES / "text_stats"
SIM_TRAIN = EXAMPLES / "sim_train"


def _executor() -> tuple[LocalExecutor, MemorySink]:
    sink = MemorySink()
    return LocalExecutor(sink=sink, progress_interval=0), sink


def test_text_stats_counts_match_an_independent_count(tmp_path: Path) -> None:
    files = sorted((TEXT_STATS / "sample_texts").glob("*.txt"))
    assert len(files) >= 5
    expected_words = sum(len(re.findall(r"[a-z']+", f.read_text().lower())) for f in files)
    expected_lines = sum(len(f.read_text().splitlines()) for f in files)
    executor, sink = _executor()
    result = run_plugin(TEXT_STATS, "analyze", {"top_n": 3}, executor=executor)
    assert (result.files, result.words, result.lines) == (len(files), expected_words,
                                                         expected_lines)  # fmt: skip
    assert result.top_terms[0] == ("river", 5)
    report = json.loads(Path(result.report_path).read_text())
    assert report["words"] == expected_words
    (run,) = sink.runs.values()
    assert [e.path for e in sink.events(run.id) if e.type == "artifact"] == ["report.json"]


def test_text_stats_on_a_folder_and_the_function_action(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha beta beta\ngamma")
    executor, _ = _executor()
    result = run_plugin(TEXT_STATS, "analyze", {"path": str(tmp_path)}, executor=executor)
    assert (result.files, result.words, result.lines) == (1, 4, 2)
    assert result.top_terms[0] == ("beta", 2)
    counted = run_plugin(TEXT_STATS, "word_count", {"text": "a b a"}, executor=executor)
    assert (counted.words, counted.distinct) == (3, 2)


def test_sim_train_learns_and_reports_progress() -> None:
    executor, sink = _executor()
    result = run_plugin(SIM_TRAIN, "train", {"epochs": 5, "sleep_per_epoch": 0}, executor=executor)
    assert result.accuracy > 0.8
    assert result.epochs == 5
    assert json.loads(Path(result.weights_path).read_text())["weights"]
    (run,) = sink.runs.values()
    events = sink.events(run.id)
    main_bar = [e.current for e in events if e.type == "progress" and e.category is None]
    assert main_bar[-1] == 100.0
    epochs = [e.values["epoch"] for e in events if e.type == "metrics" and e.category == "train"]
    assert epochs == [1, 2, 3, 4, 5]
    steps = [(e.step, e.phase) for e in events if e.type == "step"]
    assert [s for s, p in steps if p == "finished"] == [
        "prepare_data", "train", "evaluate", "save_model",
    ]  # fmt: skip


def test_sim_train_cancelled_mid_training_rolls_back() -> None:
    executor, sink = _executor()
    plugin = load_plugin(SIM_TRAIN)
    handle = executor.submit(plugin.load_action("train"),
                             {"epochs": 500, "sleep_per_epoch": 0.01})  # fmt: skip
    wait_until(lambda: any(e.type == "metrics" for e in sink.events(handle.run_id)),
               what="the first epoch's metrics")  # fmt: skip
    handle.cancel()
    with pytest.raises(RunCancelledError):
        handle.result(timeout=10)
    assert handle.status is RunStatus.CANCELLED
    phases = [(e.step, e.phase) for e in sink.events(handle.run_id) if e.type == "step"]
    assert ("train", "rolled_back") in phases and ("prepare_data", "rolled_back") in phases
    assert not any(step == "save_model" for step, _ in phases)
    executor.shutdown()


def test_sim_train_pipeline_and_evaluate() -> None:
    executor, _ = _executor()
    pipeline = pipeline_from_config(load_plugin(SIM_TRAIN), "train_flow")
    result = pipeline.execute({"epochs": 8, "sleep_per_epoch": 0}, executor=executor)
    assert result["test_accuracy"] > 0.8 and result["points"] == 200
    assert Path(result["dataset_path"]).parent.name == "datasets"
    same = {"weights_path": result["weights_path"], "dataset_path": result["dataset_path"]}
    again = run_plugin(SIM_TRAIN, "evaluate", same, executor=executor)
    assert again.test_accuracy == result["test_accuracy"]
    fresh = run_plugin(SIM_TRAIN, "evaluate", {"weights_path": result["weights_path"]},
                       executor=executor)  # fmt: skip
    assert fresh.test_accuracy > 0.8


def test_demo_script_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    import runpy

    monkeypatch.setattr("sys.argv", ["demo.py"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(EXAMPLES / "demo.py"), run_name="__main__")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "pipeline run" in out and "succeeded" in out and "text_stats" in out
