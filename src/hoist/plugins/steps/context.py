"""``BaseStepContext``: the state the steps of one action share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hoist.plugins.context import RuntimeContext
    from hoist.plugins.steps.base import StepResult

__all__ = ["BaseStepContext"]


@dataclass
class BaseStepContext:
    """Shared between the steps of one action run; subclass it to add fields.

    Attributes:
        runtime_ctx: the run's :class:`~hoist.plugins.context.RuntimeContext`.
        params: the action's validated params.
        step_results: each finished step's result, by step name.
        errors: rollback failures and other problems recorded along the way.
    """

    runtime_ctx: RuntimeContext
    params: Any = None
    step_results: dict[str, StepResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _progress_hook: Callable[[float, float], None] | None = field(default=None, repr=False)

    def set_progress(self, current: float, total: float) -> None:
        """Report progress within the running step; it moves the overall bar."""
        if self._progress_hook is not None:
            self._progress_hook(current, total)

    def log_message(self, text: str, level: str = "info") -> None:
        """Shortcut for ``runtime_ctx.log_message``."""
        self.runtime_ctx.log_message(text, level)

    def result(self) -> dict[str, Any]:
        """The data of every step that ran, merged in step order."""
        merged: dict[str, Any] = {}
        for result in self.step_results.values():
            merged.update(result.data)
        return merged
