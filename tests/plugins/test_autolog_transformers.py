"""``self.autolog("transformers")`` for real: a tiny randomly initialised BERT classifier
(built from a config, no hub) trained by ``transformers.Trainer`` on generated token ids,
as a Hoist action through ``LocalExecutor``; its logs and epochs read back from the store."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.conftest import need

from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]  # fmt: skip


def _transformers() -> Any:
    for package in ("transformers", "accelerate"):
        if importlib.util.find_spec(package) is None:
            need(f"{package} is not installed: pip install transformers accelerate")
    import transformers

    return transformers


class FitParams(BaseModel):
    epochs: int = 2
    output: str = ""


class HFTrain(BaseAction[FitParams]):
    """One autolog call, then plain ``transformers`` code."""

    def execute(self) -> dict[str, Any]:
        import torch
        from transformers import (
            BertConfig,
            BertForSequenceClassification,
            Trainer,
            TrainingArguments,
        )

        self.autolog("transformers")
        torch.manual_seed(0)
        config = BertConfig(  # type: ignore[call-arg]
            vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=32, max_position_embeddings=16, num_labels=2,
        )  # fmt: skip
        ids = torch.randint(0, 32, (32, 8))
        data = [{"input_ids": row, "labels": int(row[0] % 2)} for row in ids]
        args = TrainingArguments(
            output_dir=self.params.output, num_train_epochs=self.params.epochs,
            per_device_train_batch_size=8, per_device_eval_batch_size=16,
            logging_strategy="epoch", eval_strategy="epoch", save_strategy="epoch",
            report_to=[], use_cpu=True, disable_tqdm=True, learning_rate=1e-3,
        )  # fmt: skip
        trainer = Trainer(
            model=BertForSequenceClassification(config), args=args,
            train_dataset=data, eval_dataset=data[:16],
        )  # fmt: skip
        trainer.train()
        return {"steps": trainer.state.global_step}


def test_transformers_logs_and_epochs_become_run_events(tmp_path: Path) -> None:
    transformers = _transformers()
    original_init = transformers.Trainer.__init__
    executor = LocalExecutor(progress_interval=0)
    prepared = executor.prepare(HFTrain, {"epochs": 2, "output": str(tmp_path / "out")})
    assert executor.execute_prepared(prepared) == {"steps": 8}
    executor.runtime.sink.flush()
    events = executor.log.events(prepared.run.id)
    progress = [(e.current, e.total, e.category) for e in events if e.type == "progress"]
    assert progress == [(1, 2, "train"), (2, 2, "train")]
    metrics = [e.values for e in events if e.type == "metrics"]
    assert [m["epoch"] for m in metrics if "loss" in m] == [1.0, 2.0]
    assert [m["epoch"] for m in metrics if "eval_loss" in m] == [1.0, 2.0]
    assert all(m["step"] in (4.0, 8.0) for m in metrics if "loss" in m or "eval_loss" in m)
    artifacts = [e.name for e in events if e.type == "artifact"]
    assert artifacts == ["checkpoint-4", "checkpoint-8"]
    gc.collect()
    assert transformers.Trainer.__init__ is original_init
