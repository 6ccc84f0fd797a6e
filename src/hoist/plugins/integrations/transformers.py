"""Hugging Face ``transformers`` Trainer autolog.

``self.autolog("transformers")`` patches ``transformers.Trainer.__init__`` so that every
``Trainer`` the action's thread builds while the hook is attached gets a
:class:`HoistTrainerCallback` (``trainer.add_callback``) — the training code passes nothing.
The patch is undone when the last attached hook detaches.

* every ``Trainer.log`` call (training loss and learning rate at each logging step,
  evaluation metrics after each evaluation) becomes a metrics event (category ``"train"``,
  numbers only, ``epoch`` and ``step`` included);
* each epoch's end becomes progress ``epoch`` of ``num_train_epochs`` (category ``"train"``);
* each checkpoint folder the Trainer saves becomes a run artifact (``log_checkpoints``).

Options: ``category`` (default ``"train"``), ``log_checkpoints`` (default ``True``),
``patch_trainer`` (default ``True``; ``False`` only builds ``handle.callback``).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

from hoist.errors import UserInputError
from hoist.plugins.integrations.base import (
    AutologHandle,
    Integration,
    ThreadScopedHooks,
    numeric_metrics,
)

__all__ = ["TransformersIntegration", "callback_class"]


@functools.cache
def callback_class() -> type:
    """``HoistTrainerCallback``, a ``transformers.TrainerCallback`` (built on first use)."""
    from transformers import TrainerCallback

    class HoistTrainerCallback(TrainerCallback):
        """Reports a ``transformers`` Trainer's logs, epochs and checkpoints to a Hoist run."""

        def __init__(self, ctx: Any, category: str = "train", log_checkpoints: bool = True):
            self.ctx = ctx
            self.category = category
            self.log_checkpoints = log_checkpoints

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
            if not state.is_world_process_zero or not logs:
                return
            values = numeric_metrics(logs)
            values.setdefault("epoch", float(state.epoch or 0))
            values["step"] = float(state.global_step)
            self.ctx.set_metrics(values, self.category)

        def on_epoch_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if not state.is_world_process_zero:
                return
            done = round(state.epoch or 0)
            total = max(math.ceil(args.num_train_epochs), done)
            self.ctx.set_progress(done, total, self.category)

        def on_save(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if not (self.log_checkpoints and state.is_world_process_zero):
                return
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                self.ctx.add_artifact(folder)

    return HoistTrainerCallback


def _install_trainer_patch() -> Any:
    from transformers import Trainer

    original = Trainer.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for callback in _HOOKS.current():
            self.add_callback(callback)

    Trainer.__init__ = init  # type: ignore[method-assign]

    def restore() -> None:
        Trainer.__init__ = original  # type: ignore[method-assign]

    return restore


_HOOKS = ThreadScopedHooks(_install_trainer_patch)


class TransformersIntegration(Integration):
    """Autolog for Hugging Face ``transformers.Trainer``."""

    name = "transformers"
    aliases = ("huggingface", "hf")
    module = "transformers"
    install = "transformers"

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
                f"autolog('transformers') got unknown options {sorted(unknown)}; "
                "known: category, log_checkpoints, patch_trainer"
            )
        callback = callback_class()(ctx, category=category, log_checkpoints=log_checkpoints)
        detach = _HOOKS.add(callback) if patch_trainer else lambda: None
        return AutologHandle(self.name, detach, callback)
