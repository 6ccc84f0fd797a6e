"""Input elements: what a user fills in.

Inputs take ``name, label, value, required`` positionally (kodosumi's order) and every
other option by keyword. ``value`` is what the input shows before the user types; for
an input that is not required it is also the default a JSON body may leave out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import date, datetime, time
from typing import Any, ClassVar, Literal

from hoist.forms.base import Element, humanize

__all__ = [
    "Checkbox",
    "Input",
    "InputArea",
    "InputDate",
    "InputDateTime",
    "InputFiles",
    "InputJSON",
    "InputList",
    "InputNumber",
    "InputOption",
    "InputPassword",
    "InputPath",
    "InputText",
    "InputTime",
    "ItemKind",
    "Select",
]

ItemKind = Literal["string", "integer", "number"]


@dataclass(frozen=True)
class Input(Element):
    """Base of the elements that carry a value under a ``name``.

    Attributes:
        name: the field path; the ``name`` attribute of the HTML input and the key of
            the value in the validated inputs.
        label: shown beside the input (defaults to the humanised name).
        value: the value shown initially (and default when not required).
        required: the input must be given.
        description: help text shown under the input.
        placeholder: placeholder text.
        nullable: the value may be ``None`` (an ``Optional`` field of a params model):
            never required in the browser, and a blank input means ``None``.
    """

    kind_name: ClassVar[str] = "text"

    name: str
    label: str | None = None
    value: Any = None
    required: bool = False
    _: KW_ONLY
    description: str | None = None
    placeholder: str | None = None
    nullable: bool = field(default=False, repr=False)

    @property
    def kind(self) -> str:
        """A short word for the kind of value: ``text``, ``integer``, ``select``, ..."""
        return self.kind_name

    @property
    def title(self) -> str:
        """The label, or the humanised name when none was given."""
        return self.label if self.label is not None else humanize(self.name)


@dataclass(frozen=True, kw_only=True)
class InputText(Input):
    """A one-line text input; ``pattern`` must match the whole value (as in HTML)."""

    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    size: int | None = None


@dataclass(frozen=True, kw_only=True)
class InputPassword(InputText):
    """A password input: its value is never rendered back into the page."""

    kind_name = "password"


@dataclass(frozen=True, kw_only=True)
class InputPath(InputText):
    """A filesystem path, typed as text; rendered with ``data-kind="path"``."""

    kind_name = "path"


@dataclass(frozen=True, kw_only=True)
class InputArea(Input):
    """A multi-line text input."""

    kind_name = "textarea"

    rows: int | None = None
    cols: int | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True, kw_only=True)
class InputList(Input):
    """A list of strings or numbers: a textarea holding one item per line.

    A form post may also repeat the name once per item; blank lines are dropped.
    """

    kind_name = "list"

    item_kind: ItemKind = "string"
    min_items: int | None = None
    max_items: int | None = None
    rows: int | None = None


@dataclass(frozen=True, kw_only=True)
class InputJSON(Input):
    """Any JSON value typed into a textarea (the fallback for dicts and the like)."""

    kind_name = "json"

    rows: int | None = None


@dataclass(frozen=True, kw_only=True)
class InputNumber(Input):
    """A number; ``integer=True`` accepts whole numbers only (and steps by 1).
    ``min_exclusive``/``max_exclusive``: the bound itself is refused (``gt``/``lt``);
    the form then shows it as ``> min`` / ``< max``."""

    kind_name = "number"

    min_value: float | None = None
    max_value: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    step: float | None = None
    integer: bool = False
    size: int | None = None

    @property
    def kind(self) -> str:
        """``integer`` or ``number``."""
        return "integer" if self.integer else "number"


@dataclass(frozen=True, kw_only=True)
class InputDate(Input):
    """A date (``YYYY-MM-DD``)."""

    kind_name = "date"

    min_date: date | str | None = None
    max_date: date | str | None = None


@dataclass(frozen=True, kw_only=True)
class InputTime(Input):
    """A time of day (``HH:MM[:SS]``); ``step`` in seconds."""

    kind_name = "time"

    min_time: time | str | None = None
    max_time: time | str | None = None
    step: int | None = None


@dataclass(frozen=True, kw_only=True)
class InputDateTime(Input):
    """A local date and time (``YYYY-MM-DDTHH:MM``); ``step`` in seconds."""

    kind_name = "datetime"

    min_datetime: datetime | str | None = None
    max_datetime: datetime | str | None = None
    step: int | None = None


@dataclass(frozen=True, kw_only=True)
class Checkbox(Input):
    """A boolean. Absent from a form post means ``False``; ``required`` means checked.

    ``option`` is the text beside the box (the label sits above, as for other inputs).
    """

    kind_name = "checkbox"

    option: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", bool(self.value))


@dataclass(frozen=True)
class InputOption(Element):
    """One option of a ``Select``.

    Attributes:
        name: the string the browser posts.
        label: the text shown (defaults to ``name``).
        value: ``True`` marks the option selected when the select has no value.
        choice: the typed value the option stands for (defaults to ``name``), e.g. the
            ``1`` of an ``IntEnum`` member.
    """

    name: str
    label: str | None = None
    value: bool = False
    _: KW_ONLY
    choice: Any = None

    @property
    def typed(self) -> Any:
        """The value validation hands on when this option is picked."""
        return self.name if self.choice is None else self.choice


@dataclass(frozen=True, kw_only=True)
class Select(Input):
    """A drop-down of ``option`` (a list of ``InputOption``); the value must be one."""

    kind_name = "select"

    option: Sequence[InputOption] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "option", tuple(self.option))

    @property
    def selected(self) -> Any:
        """The initial value: ``value``, else the option marked ``value=True``."""
        if self.value is not None:
            return self.value
        return next((opt.typed for opt in self.option if opt.value), None)


@dataclass(frozen=True, kw_only=True)
class InputFiles(Input):
    """A file upload. The validated inputs hold the list of uploaded file objects.

    The form is then posted as ``multipart/form-data``.
    """

    kind_name = "files"

    multiple: bool = False
    directory: bool = False
    accept: str | None = None
