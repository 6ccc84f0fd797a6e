"""``StepRegistry``: the ordered list of an action's steps."""

from __future__ import annotations

from typing import Generic, TypeVar

from hoist.errors import NotFoundError
from hoist.plugins.steps.base import BaseStep
from hoist.plugins.steps.context import BaseStepContext

__all__ = ["StepNotFoundError", "StepRegistry"]


class StepNotFoundError(NotFoundError):
    """No step of that name is registered."""

    kind = "step"


C = TypeVar("C", bound=BaseStepContext)


class StepRegistry(Generic[C]):
    """Steps in execution order; names are unique.

    Generic in the context its steps share: ``StepRegistry[DeploymentContext]``.
    """

    def __init__(self) -> None:
        self._steps: list[BaseStep[C]] = []

    def register(self, step: BaseStep[C]) -> None:
        """Append ``step``.

        Raises:
            ValueError: a step with the same name is registered, or the weight is < 0.
        """
        self._check(step)
        self._steps.append(step)

    def unregister(self, name: str) -> None:
        """Remove the step called ``name``."""
        self._steps.pop(self._index(name))

    def insert_before(self, name: str, step: BaseStep[C]) -> None:
        """Insert ``step`` just before the step called ``name``."""
        index = self._index(name)
        self._check(step)
        self._steps.insert(index, step)

    def insert_after(self, name: str, step: BaseStep[C]) -> None:
        """Insert ``step`` just after the step called ``name``."""
        index = self._index(name)
        self._check(step)
        self._steps.insert(index + 1, step)

    def get_steps(self) -> list[BaseStep[C]]:
        """The steps in order (a copy)."""
        return list(self._steps)

    @property
    def names(self) -> list[str]:
        """Step names in order."""
        return [s.name for s in self._steps]

    @property
    def total_weight(self) -> float:
        """Sum of the steps' progress weights."""
        return sum(s.progress_weight for s in self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def _index(self, name: str) -> int:
        for i, step in enumerate(self._steps):
            if step.name == name:
                return i
        raise StepNotFoundError(name, self.names)

    def _check(self, step: BaseStep[C]) -> None:
        if step.name in self.names:
            raise ValueError(f"a step named '{step.name}' is already registered")
        if step.progress_weight < 0:
            raise ValueError(f"step '{step.name}': progress_weight must be >= 0")
