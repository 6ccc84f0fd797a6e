"""Errors of the forms package.

::

    UserInputError                      (hoist.errors)
    ├── ParamsValidationError           .field_errors
    │   └── InputsError                 .errors {field: [messages], "_global_": [...]}
    └── FormDefinitionError             .element (a form declared wrongly)

``InputsError`` is a ``ParamsValidationError``, so whatever maps Hoist's bad-params
error to an HTTP 422 with field errors maps a form's errors the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hoist.errors import ParamsValidationError, UserInputError

__all__ = ["GLOBAL", "FormDefinitionError", "InputsError"]

#: The key of errors that belong to the whole form rather than to one field.
GLOBAL = "_global_"


class InputsError(ParamsValidationError):
    """A form's inputs are invalid: every failing field, each with its messages.

    Raised by ``Model.validate``; also built by hand in a service's endpoint, the way
    kodosumi's services do::

        error = InputsError()
        if not tasks:
            error.add(tasks="Please specify the number of tasks.")
        if error.has_errors():
            raise error

    Attributes:
        errors: ``{field path: [messages]}``; messages about the whole form are under
            ``"_global_"``. The same dict as ``field_errors``.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
        **messages: str | Sequence[str],
    ) -> None:
        """Create the error, optionally with messages already in it.

        Args:
            message: a message about the whole form (stored under ``"_global_"``).
            errors: ``{field: [messages]}`` to start with.
            **messages: ``field="message"`` pairs, as ``add`` takes them.
        """
        super().__init__({}, subject="inputs")
        self.errors: dict[str, list[str]] = self.field_errors
        for field, msgs in (errors or {}).items():
            self.add(**{field: msgs})
        if message:
            self.add(**{GLOBAL: message})
        self.add(**messages)

    def add(self, **messages: str | Sequence[str]) -> InputsError:
        """Add messages: ``add(tasks="too many")`` or ``add(**{"outer.inner": [...]})``.

        Args:
            **messages: field name to one message or a list of messages; use
                ``_global_=`` for a message about the whole form.

        Returns:
            The error itself, so calls can be chained.
        """
        for field, msgs in messages.items():
            bucket = self.errors.setdefault(field, [])
            bucket.extend([msgs] if isinstance(msgs, str) else [str(m) for m in msgs])
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions are rebuilt from ``args`` by default, which would lose the dict
        # (an InputsError raised in a Ray worker crosses a process boundary).
        return (_rebuild, (type(self), self.errors))

    def flash(self, message: str) -> InputsError:
        """Add a message about the whole form (under ``"_global_"``).

        Returns:
            The error itself, so calls can be chained.
        """
        return self.add(**{GLOBAL: message})

    def has_errors(self) -> bool:
        """Whether any message was added."""
        return any(self.errors.values())

    def __bool__(self) -> bool:
        # As kodosumi's: ``if error: raise error`` raises only when a message was added.
        return self.has_errors()

    def __str__(self) -> str:
        # The message is built from the live dict: messages are added after __init__.
        lines = [f"  {field}: {msg}" for field, msgs in self.errors.items() for msg in msgs]
        return "invalid inputs:\n" + "\n".join(lines) if lines else "invalid inputs"

    @property
    def message(self) -> str:
        """The human-readable summary of every message (kept in step with ``add``)."""
        return str(self)

    @message.setter
    def message(self, value: str) -> None:
        # HoistError.__init__ assigns a message; ours is always derived from .errors.
        pass


def _rebuild(cls: type[InputsError], errors: dict[str, list[str]]) -> InputsError:
    return cls(errors=errors)


class FormDefinitionError(UserInputError):
    """A form was declared wrongly: duplicate names, a select without options...

    Attributes:
        element: the name (or type) of the offending element.
    """

    def __init__(self, problem: str, *, element: str = "") -> None:
        self.element = element
        super().__init__(f"form element '{element}': {problem}" if element else problem)
