"""``self.autolog(framework)``: the integrations registry, its errors, and PyTorch Lightning
for real — a tiny randomly initialised model trained on generated tensors as a Hoist action
through ``LocalExecutor``, its epochs and metrics read back from the run store."""

from __future__ import annotations

import gc
import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.conftest import need

from hoist.errors import ActionFailedError, MissingExtraError, UserInputError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import AnyParams, BaseAction
from hoist.plugins.context import RuntimeContext
from hoist.plugins.integrations import (
    FrameworkNotInstalledError,
    UnknownIntegrationError,
    get_integration,
    known_integrations,
)
from hoist.plugins.integrations.lightning import PER_BATCH_HOOKS
from hoist.runs.models import Run
from hoist.runs.sinks.memory import MemorySink

# Lightning 2.6 on torch 2.13 warns about its own use of torch APIs, and about tiny
# generated datasets; pytest turns warnings into errors.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers.*"),
    pytest.mark.filterwarnings("ignore:.*smaller than the logging interval.*"),
]


def _lightning() -> Any:
    if importlib.util.find_spec("lightning") is None:
        need("lightning is not installed: run `make .venv/.ml-stamp`")
    import lightning.pytorch as pl

    return pl


class FitParams(BaseModel):
    epochs: int = 3
    root: str = ""


def _fit(
    epochs: int, root: str, batches: int = 4, fail_in_epoch: int = -1, **trainer_options: Any
) -> Any:
    """A tiny regression model on generated tensors: ``batches`` batches of 8, CPU; its
    training step raises in epoch ``fail_in_epoch`` (0-based)."""
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, _: int) -> Any:
            if self.current_epoch == fail_in_epoch:
                raise RuntimeError(f"failed in epoch {fail_in_epoch}")
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch: Any, _: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    x = torch.randn(8 * batches, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    data = DataLoader(TensorDataset(x, y), batch_size=8)
    options: dict[str, Any] = {
        "max_epochs": epochs, "accelerator": "cpu", "devices": 1, "logger": False,
        "enable_progress_bar": False, "enable_model_summary": False,
        "num_sanity_val_steps": 0, "default_root_dir": root, **trainer_options,
    }  # fmt: skip
    trainer = pl.Trainer(**options)
    trainer.fit(Tiny(), data, data)
    return trainer


class LightningTrain(BaseAction[FitParams]):
    """The seed's style: one autolog call, then plain Lightning code."""

    def execute(self) -> dict[str, Any]:
        self.autolog("lightning")
        trainer = _fit(self.params.epochs, self.params.root)
        return {"epochs": trainer.current_epoch}


def test_lightning_epochs_and_metrics_become_run_events(tmp_path: Path) -> None:
    pl = _lightning()
    original_init = pl.Trainer.__init__
    executor = LocalExecutor(progress_interval=0)
    prepared = executor.prepare(LightningTrain, {"epochs": 3, "root": str(tmp_path)})
    assert executor.execute_prepared(prepared) == {"epochs": 3}
    executor.runtime.sink.flush()
    events = executor.log.events(prepared.run.id)
    progress = [(e.current, e.total) for e in events if e.type == "progress"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert {e.category for e in events if e.type == "progress"} == {"train"}
    metrics = [e.values for e in events if e.type == "metrics"]
    assert [m["epoch"] for m in metrics] == [1.0, 2.0, 3.0]
    assert all({"train_loss", "val_loss", "step"} <= set(m) for m in metrics)
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]  # it really trained
    artifacts = [e.name for e in events if e.type == "artifact"]
    assert len(artifacts) == 1 and str(artifacts[0]).endswith(".ckpt")
    gc.collect()
    assert pl.Trainer.__init__ is original_init  # the patch ended with the action


def test_callbacks_the_user_passes_are_kept_and_the_handle_detaches(tmp_path: Path) -> None:
    pl = _lightning()
    seen: list[int] = []

    class Mine(pl.Callback):  # type: ignore[misc,name-defined]
        def on_train_epoch_end(self, trainer: Any, _: Any) -> None:
            seen.append(trainer.current_epoch)

    sink = MemorySink()
    ctx = _context(sink)
    original_init = pl.Trainer.__init__
    with get_integration("pytorch_lightning").attach(ctx, log_checkpoints=False) as handle:
        assert pl.Trainer.__init__ is not original_init
        _fit(2, str(tmp_path), callbacks=Mine(), enable_checkpointing=False)
    assert pl.Trainer.__init__ is original_init and not handle.attached
    assert seen == [0, 1]
    assert [e.current for e in sink.events("run-1") if e.type == "progress"] == [1, 2]
    _fit(1, str(tmp_path), enable_checkpointing=False)  # detached: nothing more reported
    assert len([e for e in sink.events("run-1") if e.type == "progress"]) == 2


def test_many_fast_batches_give_one_progress_and_one_metrics_event_per_epoch(
    tmp_path: Path,
) -> None:
    """Autolog reports per epoch, never per batch, and Lightning does not even dispatch
    its callback's per-batch hooks (they would cost every batch); the final progress is
    100% and every epoch's metrics are there."""
    pl = _lightning()
    from lightning.pytorch.profilers import SimpleProfiler

    sink = MemorySink()
    ctx = _context(sink)  # progress_interval=0: the context coalesces nothing here
    profiler = SimpleProfiler()
    with get_integration("lightning").attach(ctx, log_checkpoints=False) as handle:
        _fit(3, str(tmp_path), batches=200, enable_checkpointing=False, profiler=profiler)
    events = [e for e in sink.events("run-1") if e.type in ("progress", "metrics")]
    assert len(events) == 2 * 3  # 600 batches
    assert [(e.current, e.total) for e in events if e.type == "progress"] == [
        (1, 3), (2, 3), (3, 3),
    ]  # fmt: skip
    metrics = [e.values for e in events if e.type == "metrics"]
    assert [(m["epoch"], m["step"]) for m in metrics] == [(1, 200), (2, 400), (3, 600)]
    assert all({"train_loss", "val_loss"} <= set(m) for m in metrics)
    ours = type(handle.callback).__qualname__
    called = {name.split(".")[-1] for name in profiler.recorded_durations if ours in name}
    assert "on_train_epoch_end" in called
    assert called.isdisjoint(PER_BATCH_HOOKS), called & set(PER_BATCH_HOOKS)
    assert isinstance(handle.callback, pl.Callback)


def test_a_failing_fit_keeps_the_epochs_it_finished(tmp_path: Path) -> None:
    _lightning()

    class FailsInEpoch3(BaseAction[FitParams]):
        def execute(self) -> None:
            self.autolog("lightning", log_checkpoints=False)
            _fit(5, self.params.root, fail_in_epoch=2, enable_checkpointing=False)

    executor = LocalExecutor()  # the default progress interval: the context coalesces
    prepared = executor.prepare(FailsInEpoch3, {"root": str(tmp_path)})
    with pytest.raises(ActionFailedError, match="failed in epoch 2"):
        executor.execute_prepared(prepared)
    executor.runtime.sink.flush()
    events = executor.log.events(prepared.run.id)
    assert [(e.current, e.total) for e in events if e.type == "progress"] == [(1, 5), (2, 5)]
    assert [e.values["epoch"] for e in events if e.type == "metrics"] == [1.0, 2.0]
    assert [e.status for e in events if e.type == "status"][-1] == "failed"


def test_a_trainer_built_on_another_thread_is_not_hooked(tmp_path: Path) -> None:
    _lightning()
    sink = MemorySink()
    ctx = _context(sink)
    callbacks: list[Any] = []

    def other() -> None:
        callbacks.extend(_fit(1, str(tmp_path), enable_checkpointing=False).callbacks)

    with get_integration("lightning").attach(ctx) as handle:
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert handle.callback not in callbacks
    assert [e for e in sink.events("run-1") if e.type in ("progress", "metrics")] == []


# ---------------------------------------------------------------------- bad input


def test_an_unknown_framework_lists_the_known() -> None:
    with pytest.raises(UnknownIntegrationError) as info:
        get_integration("kerass")
    assert "'kerass'" in str(info.value)
    assert "known: lightning, transformers, ultralytics" in str(info.value)
    assert isinstance(info.value, UserInputError)
    assert known_integrations() == ["lightning", "transformers", "ultralytics"]


def test_ultralytics_not_installed_names_what_to_install() -> None:
    if importlib.util.find_spec("ultralytics") is not None:
        pytest.skip("ultralytics is installed here")
    with pytest.raises(FrameworkNotInstalledError) as info:
        get_integration("ultralytics").attach(_context())
    assert isinstance(info.value, MissingExtraError)
    assert str(info.value) == (
        "autolog 'ultralytics' needs 'ultralytics', which is not installed; "
        "install it with: pip install 'ultralytics'"
    )


def test_unknown_options_are_refused_naming_the_known() -> None:
    _lightning()
    with pytest.raises(UserInputError, match=r"unknown options \['epochs'\]; known: category"):
        get_integration("lightning").attach(_context(), epochs=3)


def test_autolog_needs_an_action_or_a_context() -> None:
    _lightning()
    with pytest.raises(TypeError, match="needs an action or a RuntimeContext"):
        get_integration("lightning").attach(object())


def _context(sink: MemorySink | None = None) -> RuntimeContext:
    sink = sink or MemorySink()
    sink.open_run(Run(id="run-1", action="train"))
    return RuntimeContext("run-1", sink, progress_interval=0)


# ---------------------------------------------------------------------- entry points

TOY = """
from hoist.plugins.integrations import AutologHandle, Integration

class Toy(Integration):
    name = "toy"
    module = "json"
    install = "toy-framework"

    def hook(self, ctx, **options):
        ctx.set_metrics({"attached": 1.0, **options}, "train")
        return AutologHandle(self.name, lambda: ctx.log("toy-detached"))

class Absent(Toy):
    name = "absent"
    module = "absent_framework_here"
    install = "absent-framework"
"""


@pytest.fixture
def toy_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution (a .dist-info on sys.path) declaring two integrations."""
    site = tmp_path / "site"
    (site / "hoist_toy.py").parent.mkdir(parents=True)
    (site / "hoist_toy.py").write_text(TOY)
    info = site / "hoist_toy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hoist-toy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[hoist.integrations]\ntoy = hoist_toy:Toy\nabsent = hoist_toy:Absent\n"
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("hoist_toy", None)


def test_entry_point_integrations_run_through_autolog(toy_distribution: Path) -> None:
    assert known_integrations() == ["absent", "lightning", "toy", "transformers", "ultralytics"]

    class UsesToy(BaseAction[AnyParams]):
        def execute(self) -> None:
            with self.autolog("toy", lr=0.5):
                pass

    executor = LocalExecutor(progress_interval=0)
    prepared = executor.prepare(UsesToy, {})
    executor.execute_prepared(prepared)
    executor.runtime.sink.flush()
    events = executor.log.events(prepared.run.id)
    assert [e.values for e in events if e.type == "metrics"] == [{"attached": 1.0, "lr": 0.5}]
    assert [e.name for e in events if e.type == "custom"] == ["toy-detached"]
    with pytest.raises(FrameworkNotInstalledError, match="pip install 'absent-framework'"):
        get_integration("absent").attach(_context())


def test_detach_all_ends_every_hook_an_action_attached(tmp_path: Path) -> None:
    pl = _lightning()
    from hoist.plugins.integrations import detach_all

    original_init = pl.Trainer.__init__

    class Fails(BaseAction[AnyParams]):
        def execute(self) -> None:
            self.autolog("lightning")
            self.autolog("lightning", category="again")
            raise RuntimeError("boom")

    action = Fails(AnyParams(), _context())
    with pytest.raises(RuntimeError):
        action.run()
    assert pl.Trainer.__init__ is not original_init  # still attached: the action lives on
    assert detach_all(action) == 2
    assert pl.Trainer.__init__ is original_init
    assert detach_all(action) == 0
