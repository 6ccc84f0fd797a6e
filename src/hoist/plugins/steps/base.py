"""``BaseStep`` and ``StepResult``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hoist.errors import HoistError
from hoist.plugins.steps.context import BaseStepContext

__all__ = ["BaseStep", "StepFailedError", "StepResult"]

C = TypeVar("C", bound=BaseStepContext)


@dataclass
class StepResult:
    """What a step reports.

    Attributes:
        success: False fails the action (and rolls back what ran).
        data: values merged into the action's result.
        error: why the step failed.
        rollback_data: anything :meth:`BaseStep.rollback` needs to undo the step.
        skipped: set by the orchestrator for steps that :meth:`BaseStep.can_skip`.
    """

    success: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    rollback_data: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


class StepFailedError(HoistError):
    """A step returned ``StepResult(success=False)``."""

    def __init__(self, step: str, error: str | None) -> None:
        self.step = step
        super().__init__(f"step '{step}' failed: {error or 'no reason given'}")


class BaseStep(ABC, Generic[C]):
    """One phase of a step-based action.

    Set ``name`` and ``progress_weight`` as class attributes (or properties) and
    implement :meth:`execute`. ``progress_weight`` is relative: weights are normalised
    over the registered steps.
    """

    name: str = ""
    progress_weight: float = 1.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    @abstractmethod
    def execute(self, context: C) -> StepResult | Awaitable[StepResult | None] | None:
        """Do the step's work (``async def`` is fine); ``None`` means success, no data."""

    def can_skip(self, context: C) -> bool | Awaitable[bool]:
        """True to skip the step (it counts as done for progress)."""
        return False

    def rollback(self, context: C, result: StepResult) -> Awaitable[None] | None:
        """Undo the step after a later (or this) step failed."""
