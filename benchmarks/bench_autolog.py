"""Autolog's cost: the same PyTorch Lightning training loop (a small MLP on generated
tensors, CPU) run as a Hoist action through ``LocalExecutor`` with and without
``self.autolog("lightning")``, alternating, best of N in one process.

Prints both wall times (best of N) and their ratio (target ≤ 1.02: autolog adds at most
2%), the median ratio of back-to-back pairs, the training thread's CPU time (steadier
on a shared machine than wall time), and the time
spent inside autolog's own callback as a share of the fit (what autolog adds, measured
directly; its events are written by the run store's writer thread). A control row fits
with an empty ``lightning.pytorch.Callback`` instead: Lightning dispatches every hook of
every callback per batch, a cost any callback adds, visible only when batches are tiny.

    .venv/bin/python benchmarks/bench_autolog.py
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
import warnings
from typing import Any

from _util import report

os.environ["HOIST_HOME"] = tempfile.mkdtemp(prefix="hoist-bench-autolog-")

import lightning.pytorch as pl
import torch
from pydantic import BaseModel
from torch.utils.data import DataLoader, TensorDataset

from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.plugins.integrations.lightning import callback_class

warnings.filterwarnings("ignore")  # Lightning's own deprecation and data-size hints
EPOCHS, BATCHES, BATCH, REPEAT = 5, 100, 64, 11
ROOT = tempfile.mkdtemp(prefix="hoist-bench-autolog-fit-")

torch.set_num_threads(1)
for name in ("lightning.pytorch", "lightning.fabric"):
    logging.getLogger(name).setLevel(logging.ERROR)


class MLP(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(32, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1)
        )

    def training_step(self, batch: Any, _: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch: Any, _: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.01)


torch.manual_seed(0)
X = torch.randn(BATCHES * BATCH, 32)
Y = X.sum(dim=1, keepdim=True)
TRAIN = DataLoader(TensorDataset(X, Y), batch_size=BATCH)
VAL = DataLoader(TensorDataset(X[: 10 * BATCH], Y[: 10 * BATCH]), batch_size=BATCH)


IN_HOOKS = [0.0]


def _timed(method: Any) -> Any:
    def call(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args)
        finally:
            IN_HOOKS[0] += time.perf_counter() - start

    return call


HoistCallback = callback_class()
for hook in ("on_train_epoch_end", "on_fit_end"):
    setattr(HoistCallback, hook, _timed(getattr(HoistCallback, hook)))


class Params(BaseModel):
    autolog: bool = False
    empty_callback: bool = False  # control: what any Lightning callback costs per batch


class Train(BaseAction[Params]):
    def execute(self) -> tuple[float, float]:
        if self.params.autolog:
            self.autolog("lightning", log_checkpoints=False)
        trainer = pl.Trainer(
            callbacks=[pl.Callback()] if self.params.empty_callback else None,
            max_epochs=EPOCHS, accelerator="cpu", devices=1, logger=False,
            enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
            num_sanity_val_steps=0, default_root_dir=ROOT,
        )  # fmt: skip
        start, cpu = time.perf_counter(), time.thread_time()
        trainer.fit(MLP(), TRAIN, VAL)
        return time.perf_counter() - start, time.thread_time() - cpu


def main() -> None:
    executor = LocalExecutor()
    executor.execute(Train, {"autolog": True})  # warm up both paths
    executor.execute(Train, {"autolog": False})
    plain: list[tuple[float, float]] = []
    logged: list[tuple[float, float]] = []
    empty: list[tuple[float, float]] = []
    IN_HOOKS[0] = 0.0
    for _ in range(REPEAT):
        plain.append(executor.execute(Train, {"autolog": False}))
        logged.append(executor.execute(Train, {"autolog": True}))
        empty.append(executor.execute(Train, {"empty_callback": True}))
    hooks_share = IN_HOOKS[0] / sum(wall for wall, _ in logged)
    prepared = executor.prepare(Train, {"autolog": True})
    executor.execute_prepared(prepared)
    executor.runtime.sink.flush()
    kinds = [e.type for e in executor.log.events(prepared.run.id)]
    assert kinds.count("metrics") == EPOCHS and kinds.count("progress") >= 1, kinds
    wall = min(w for w, _ in logged), min(w for w, _ in plain)
    pairs = statistics.median(a[0] / b[0] for a, b in zip(logged, plain, strict=True))
    cpu = min(c for _, c in logged), min(c for _, c in plain)
    control = min(w for w, _ in empty), min(c for _, c in empty)
    print(f"Lightning fit: {EPOCHS} epochs x {BATCHES} batches of {BATCH}, best of {REPEAT}")
    report([
        ("what", "with autolog", "without", "ratio / target"),
        ("fit, wall", f"{wall[0]:.3f} s", f"{wall[1]:.3f} s", f"{wall[0] / wall[1]:.3f} / <= 1.02"),
        ("fit, wall, median of pairs", "", "", f"{pairs:.3f} / <= 1.02"),
        ("fit, training thread's CPU", f"{cpu[0]:.3f} s", f"{cpu[1]:.3f} s",
         f"{cpu[0] / cpu[1]:.3f} / <= 1.02"),
        ("in autolog's callback", f"{hooks_share:.3%} of the fit", "", "/ <= 2%"),
        ("control: an empty Callback, wall", f"{control[0]:.3f} s", f"{wall[1]:.3f} s",
         f"{control[0] / wall[1]:.3f}"),
        ("control: an empty Callback, CPU", f"{control[1]:.3f} s", f"{cpu[1]:.3f} s",
         f"{control[1] / cpu[1]:.3f}"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
