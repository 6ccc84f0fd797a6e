"""Autolog's cost: the same PyTorch Lightning training loop (a small MLP on generated
tensors, CPU) run as a Hoist action through ``LocalExecutor`` with and without
``self.autolog("lightning")``, best of N in one process; each round runs the three
variants in a rotated order, so none always follows the same one.

Prints both wall times (best of N) and their ratio (target <= 1.02: autolog adds at most
2%), the median ratio of back-to-back pairs, the training thread's CPU time, and what
autolog adds measured directly, each as a share of the fit: the time inside autolog's
own callback (on the training thread), the extra time the run store's writer thread
spends writing (its events: one metrics and one progress event per epoch), and what
Lightning's dispatch of a training batch's callback hooks adds with autolog's callback
(timed alone, per batch). Control rows do the same with an empty
``lightning.pytorch.Callback``: Lightning dispatches every hook of every callback per
batch, a cost any callback adds, visible only when batches are tiny (autolog's callback
sets its per-batch hooks to ``None``, which Lightning skips). On a shared machine the
wall and CPU ratios move by several percent from run to run in both directions; the
direct shares do not.

    .venv/bin/python benchmarks/bench_autolog.py
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
import timeit
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
from hoist.runs.sinks.store import StoreSink

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
WRITING: dict[str, float] = {}  # variant -> seconds in the store's writes during its fits
FITTING: list[str] = []  # the variant whose fit runs now


def _timed(method: Any) -> Any:
    def call(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args)
        finally:
            IN_HOOKS[0] += time.perf_counter() - start

    return call


def _timed_write(method: Any) -> Any:
    def call(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args)
        finally:
            if FITTING:
                WRITING[FITTING[0]] = WRITING.get(FITTING[0], 0.0) + time.perf_counter() - start

    return call


HoistCallback = callback_class()
for hook in ("on_train_epoch_end", "on_fit_end"):
    setattr(HoistCallback, hook, _timed(getattr(HoistCallback, hook)))
StoreSink._write = _timed_write(StoreSink._write)  # type: ignore[method-assign]


#: What Lightning dispatches to every callback per training batch, with its arguments.
BATCH_HOOKS: list[tuple[str, tuple[Any, ...]]] = [
    ("on_train_batch_start", (None, 0)), ("on_before_backward", (None,)),
    ("on_after_backward", ()), ("on_before_optimizer_step", (None,)),
    ("on_before_zero_grad", (None,)), ("on_train_batch_end", (None, None, 0)),
]  # fmt: skip


def dispatch_per_batch(variants: list[list[Any]], number: int = 2000) -> list[float]:
    """Seconds Lightning's dispatch of one training batch's callback hooks takes with each
    list of callbacks in ``variants`` (interleaved, best of 15; steady where whole fits
    are not)."""
    from lightning.pytorch.trainer import call

    def batch_of(callbacks: list[Any]) -> Any:
        trainer = pl.Trainer(
            callbacks=callbacks, accelerator="cpu", devices=1, logger=False,
            enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
        )  # fmt: skip
        trainer.strategy.connect(MLP())

        def batch() -> None:
            for hook, args in BATCH_HOOKS:
                call._call_callback_hooks(trainer, hook, *args)

        return batch

    batches = [batch_of(callbacks) for callbacks in variants]
    best = [float("inf")] * len(variants)
    for _ in range(5):
        for i, batch in enumerate(batches):
            best[i] = min(best[i], *timeit.repeat(batch, number=number, repeat=3))
    return [seconds / number for seconds in best]


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
        FITTING[:] = ["autolog" if self.params.autolog else "other"]
        start, cpu = time.perf_counter(), time.thread_time()
        trainer.fit(MLP(), TRAIN, VAL)
        wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
        FITTING.clear()
        return wall, cpu


def main() -> None:
    executor = LocalExecutor()
    executor.execute(Train, {"autolog": True})  # warm up both paths
    executor.execute(Train, {"autolog": False})
    variants: dict[str, dict[str, bool]] = {
        "plain": {}, "logged": {"autolog": True}, "empty": {"empty_callback": True},
    }  # fmt: skip
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    IN_HOOKS[0] = 0.0
    WRITING.clear()
    names = list(variants)
    for round_ in range(REPEAT):
        for name in names[round_ % 3 :] + names[: round_ % 3]:
            times[name].append(executor.execute(Train, variants[name]))
    plain, logged, empty = times["plain"], times["logged"], times["empty"]
    logged_wall = sum(wall for wall, _ in logged)
    hooks_share = IN_HOOKS[0] / logged_wall
    # Writes during the other two variants' fits: the run's own events, the previous
    # run's last ones; the same with autolog, so the difference is autolog's events.
    other_writes = WRITING.get("other", 0.0) / (2 * REPEAT)
    events_share = (WRITING.get("autolog", 0.0) / REPEAT - other_writes) / (logged_wall / REPEAT)
    prepared = executor.prepare(Train, {"autolog": True})
    executor.execute_prepared(prepared)
    executor.runtime.sink.flush()
    kinds = [e.type for e in executor.log.events(prepared.run.id)]
    assert kinds.count("metrics") == EPOCHS and kinds.count("progress") >= 1, kinds
    wall = min(w for w, _ in logged), min(w for w, _ in plain)
    pairs = statistics.median(a[0] / b[0] for a, b in zip(logged, plain, strict=True))
    cpu = min(c for _, c in logged), min(c for _, c in plain)
    control = min(w for w, _ in empty), min(c for _, c in empty)
    bare, *with_one = dispatch_per_batch([[], [HoistCallback(None)], [pl.Callback()]])
    per_batch = [seconds - bare for seconds in with_one]
    dispatch_share = [added * EPOCHS * BATCHES / wall[0] for added in per_batch]
    print(f"Lightning fit: {EPOCHS} epochs x {BATCHES} batches of {BATCH}, best of {REPEAT}")
    report([
        ("what", "with autolog", "without", "ratio / target"),
        ("fit, wall", f"{wall[0]:.3f} s", f"{wall[1]:.3f} s", f"{wall[0] / wall[1]:.3f} / <= 1.02"),
        ("fit, wall, median of pairs", "", "", f"{pairs:.3f} / <= 1.02"),
        ("fit, training thread's CPU", f"{cpu[0]:.3f} s", f"{cpu[1]:.3f} s",
         f"{cpu[0] / cpu[1]:.3f} / <= 1.02"),
        ("in autolog's callback", f"{hooks_share:.3%} of the fit", "", "/ <= 2%"),
        ("writing autolog's events (writer thread, wall)", f"{events_share:.3%} of the fit", "",
         "/ <= 2%"),
        ("autolog's callback, dispatch per batch", f"{per_batch[0] * 1e6:+.2f} us",
         f"{dispatch_share[0]:.3%} of the fit", "/ <= 2%"),
        ("control: an empty Callback, per batch", f"{per_batch[1] * 1e6:+.2f} us",
         f"{dispatch_share[1]:.3%} of the fit", ""),
        ("control: an empty Callback, wall", f"{control[0]:.3f} s", f"{wall[1]:.3f} s",
         f"{control[0] / wall[1]:.3f}"),
        ("control: an empty Callback, CPU", f"{control[1]:.3f} s", f"{cpu[1]:.3f} s",
         f"{control[1] / cpu[1]:.3f}"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
