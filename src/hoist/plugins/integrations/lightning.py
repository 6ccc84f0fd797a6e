"""PyTorch Lightning 2.x autolog.

``self.autolog("lightning")`` patches ``lightning.pytorch.Trainer.__init__`` so that every
``Trainer`` the action's thread builds while the hook is attached gets a
:class:`HoistCallback` added to its ``callbacks`` — the training code passes nothing.
The patch is undone when the last attached hook detaches (``handle.detach()``, leaving
``with self.autolog(...)``, or the end of the action's run).

Per epoch (after validation, rank zero only) the callback reports:

* progress ``current_epoch + 1`` of ``max_epochs`` (category ``"train"``); with no epoch
  limit the total is the epoch reached;
* metrics: ``trainer.callback_metrics`` (what ``self.log(...)`` recorded, losses included)
  that are numbers, plus ``epoch`` and ``step`` (category ``"train"``);
* at the end of fitting, the checkpoint files its ``ModelCheckpoint`` callbacks wrote
  (``best_model_path``, ``last_model_path``) as run artifacts (``log_checkpoints=False``
  turns this off).

Nothing is reported per batch, and the callback costs nothing per batch either: Lightning
skips a callback's hook that is not callable, and the callback's per-batch hooks
(:data:`PER_BATCH_HOOKS`) are ``None``, so no batch pays Lightning's dispatch of them (a
profiler context and a call each, about 6 per training batch; on a fit of tiny batches
that dispatch alone was several percent of the wall time).

Options: ``category`` (default ``"train"``), ``log_checkpoints`` (default ``True``),
``patch_trainer`` (default ``True``; ``False`` only builds ``handle.callback`` for code
that passes callbacks itself).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from hoist.errors import UserInputError
from hoist.plugins.integrations.base import (
    AutologHandle,
    Integration,
    ThreadScopedHooks,
    numeric_metrics,
)

__all__ = ["PER_BATCH_HOOKS", "LightningIntegration", "callback_class"]

#: ``Callback`` hooks Lightning calls for every batch (only through its callback dispatch,
#: which skips a hook that is not callable): ``None`` on :func:`callback_class`'s class.
PER_BATCH_HOOKS = (
    "on_train_batch_start", "on_train_batch_end",
    "on_validation_batch_start", "on_validation_batch_end",
    "on_test_batch_start", "on_test_batch_end",
    "on_predict_batch_start", "on_predict_batch_end",
    "on_before_backward", "on_after_backward",
    "on_before_optimizer_step", "on_before_zero_grad",
)  # fmt: skip


@functools.cache
def callback_class() -> type:
    """``HoistCallback``, a ``lightning.pytorch.Callback`` (built on first use, so this
    module imports without Lightning)."""
    from lightning.pytorch import Callback

    class HoistCallback(Callback):
        """Reports a Lightning fit's epochs, metrics and checkpoints to a Hoist run."""

        def __init__(self, ctx: Any, category: str = "train", log_checkpoints: bool = True):
            self.ctx = ctx
            self.category = category
            self.log_checkpoints = log_checkpoints

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if not trainer.is_global_zero or trainer.sanity_checking:
                return
            done = trainer.current_epoch + 1
            limit = trainer.max_epochs
            total = limit if limit is not None and limit > 0 else done
            values = numeric_metrics(trainer.callback_metrics)
            values["epoch"] = float(done)
            values["step"] = float(trainer.global_step)
            self.ctx.set_metrics(values, self.category)
            self.ctx.set_progress(done, total, self.category)

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            if not (self.log_checkpoints and trainer.is_global_zero):
                return
            seen: set[str] = set()
            for callback in trainer.checkpoint_callbacks:
                for attr in ("best_model_path", "last_model_path"):
                    path = getattr(callback, attr, "") or ""
                    if path and path not in seen and Path(path).is_file():
                        seen.add(path)
                        self.ctx.add_artifact(path)

    for hook in PER_BATCH_HOOKS:  # not dispatched at all (see the module docstring)
        setattr(HoistCallback, hook, None)
    return HoistCallback


def _install_trainer_patch() -> Any:
    from lightning.pytorch import Trainer

    original = Trainer.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        extra = _HOOKS.current()
        if extra:
            given = kwargs.get("callbacks")
            given = [] if given is None else list(given) if isinstance(given, list) else [given]
            kwargs["callbacks"] = [*given, *extra]
        original(self, *args, **kwargs)

    Trainer.__init__ = init  # type: ignore[method-assign]

    def restore() -> None:
        Trainer.__init__ = original  # type: ignore[method-assign]

    return restore


_HOOKS = ThreadScopedHooks(_install_trainer_patch)


class LightningIntegration(Integration):
    """Autolog for PyTorch Lightning 2.x (``lightning.pytorch``)."""

    name = "lightning"
    aliases = ("pytorch_lightning", "pytorch-lightning")
    module = "lightning.pytorch"
    install = "hoist[autolog]"

    def hook(
        self,
        ctx: Any,
        *,
        category: str = "train",
        log_checkpoints: bool = True,
        patch_trainer: bool = True,
        **unknown: Any,
    ) -> AutologHandle:
        """Build the callback and (``patch_trainer``) add it to Trainers built from now on."""
        if unknown:
            raise UserInputError(
                f"autolog('lightning') got unknown options {sorted(unknown)}; "
                "known: category, log_checkpoints, patch_trainer"
            )
        callback = callback_class()(ctx, category=category, log_checkpoints=log_checkpoints)
        detach = _HOOKS.add(callback) if patch_trainer else lambda: None
        return AutologHandle(self.name, detach, callback)
