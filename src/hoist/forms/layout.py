"""Layout elements: text, spacing, error area, buttons and fieldsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass

from hoist.forms.base import Element

__all__ = ["HR", "HTML", "Action", "Break", "Cancel", "Errors", "Fieldset", "Markdown", "Submit"]


@dataclass(frozen=True)
class Markdown(Element):
    """Markdown text, rendered with markdown-it-py and sanitised (no script survives).

    The text is dedented first, so an indented triple-quoted string works.
    """

    text: str


@dataclass(frozen=True)
class HTML(Element):
    """A piece of HTML, sanitised with nh3 before it is rendered."""

    text: str


@dataclass(frozen=True)
class Break(Element):
    """Vertical space."""


@dataclass(frozen=True)
class HR(Element):
    """A horizontal rule."""


@dataclass(frozen=True)
class Errors(Element):
    """Where the form's ``_global_`` errors go (the top of the form when absent)."""


@dataclass(frozen=True)
class Submit(Element):
    """The submit button."""

    text: str = "Submit"


@dataclass(frozen=True)
class Cancel(Element):
    """A cancel control that never submits the form.

    With ``href`` it renders as a link (``<a role="button">``) back to that address;
    without, as ``<button type="button" data-action="cancel">`` for the page's script
    to wire (typically to ``history.back()``).
    """

    text: str = "Cancel"
    _: KW_ONLY
    href: str | None = None


@dataclass(frozen=True)
class Action(Element):
    """A named submit button carrying a value, so an endpoint can tell buttons apart.

    The validated inputs hold ``{name: value}`` when this button was pressed.
    """

    name: str = "__action__"
    value: str = "action"
    text: str | None = None


@dataclass(frozen=True)
class Fieldset(Element):
    """A group of inputs (a nested params model): rendered as ``<fieldset>``.

    Inputs inside carry their full dotted names (``outer.inner``); ``name`` is the
    group's own path, used to place errors about the group as a whole.
    """

    name: str
    elements: Sequence[Element] = ()
    label: str | None = None
    required: bool = True
    _: KW_ONLY
    description: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))
