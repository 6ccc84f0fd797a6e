"""The HTML control of each input type, with its browser validation attributes."""

from __future__ import annotations

import json
from enum import Enum
from functools import singledispatch
from html import escape
from typing import Any

from hoist.forms.elements import (
    Checkbox,
    Input,
    InputArea,
    InputDate,
    InputDateTime,
    InputFiles,
    InputJSON,
    InputList,
    InputNumber,
    InputOption,
    InputPassword,
    InputText,
    InputTime,
    Select,
)
from hoist.forms.generate import option_name
from hoist.forms.htmltext import attrs, text
from hoist.forms.postdata import TRUE_WORDS

__all__ = ["control"]


def _single(value: Any) -> Any:
    """One value where a form post may have repeated the key."""
    if isinstance(value, list | tuple):
        return value[-1] if value else None
    return value


@singledispatch
def control(element: Input, value: Any, common: dict[str, Any]) -> str:
    """The control for ``element`` showing ``value``; ``common`` holds id, name, aria..."""
    raise TypeError(f"no control for {type(element).__name__}")


@control.register
def _text_input(element: InputText, value: Any, common: dict[str, Any]) -> str:
    shown = None if isinstance(element, InputPassword) else text(_single(value))
    kind = "password" if isinstance(element, InputPassword) else "text"
    return (
        "<input"
        + attrs(
            type=kind,
            **common,
            value=shown or None,
            placeholder=element.placeholder,
            pattern=element.pattern,
            minlength=element.min_length,
            maxlength=element.max_length,
            size=element.size,
            autocomplete="off" if kind == "password" else None,
        )
        + ">"
    )


@control.register
def _number(element: InputNumber, value: Any, common: dict[str, Any]) -> str:
    step = element.step if element.step is not None else (None if element.integer else "any")
    return (
        "<input"
        + attrs(
            type="number",
            **common,
            value=text(_single(value)) or None,
            placeholder=element.placeholder,
            min=element.min_value,
            max=element.max_value,
            step=step,
            size=element.size,
        )
        + ">"
    )


@control.register
def _date(element: InputDate, value: Any, common: dict[str, Any]) -> str:
    return _temporal("date", element, value, common, element.min_date, element.max_date, None)


@control.register
def _time(element: InputTime, value: Any, common: dict[str, Any]) -> str:
    low, high = element.min_time, element.max_time
    return _temporal("time", element, value, common, low, high, element.step)


@control.register
def _datetime(element: InputDateTime, value: Any, common: dict[str, Any]) -> str:
    low, high = element.min_datetime, element.max_datetime
    return _temporal("datetime-local", element, value, common, low, high, element.step)


def _temporal(
    kind: str, element: Input, value: Any, common: dict[str, Any], low: Any, high: Any, step: Any
) -> str:
    return (
        "<input"
        + attrs(
            type=kind,
            **common,
            value=text(_single(value)) or None,
            placeholder=element.placeholder,
            min=text(low) or None,
            max=text(high) or None,
            step=step,
        )
        + ">"
    )


@control.register
def _area(element: InputArea, value: Any, common: dict[str, Any]) -> str:
    head = attrs(
        **common,
        rows=element.rows,
        cols=element.cols,
        placeholder=element.placeholder,
        minlength=element.min_length,
        maxlength=element.max_length,
    )
    return f"<textarea{head}>{escape(text(_single(value)))}</textarea>"


@control.register
def _list(element: InputList, value: Any, common: dict[str, Any]) -> str:
    if isinstance(value, list | tuple):
        shown = "\n".join(text(item) for item in value)
    else:
        shown = text(value)
    head = attrs(**common, rows=element.rows or 4, placeholder=element.placeholder)
    return f"<textarea{head}>{escape(shown)}</textarea>"


@control.register
def _json(element: InputJSON, value: Any, common: dict[str, Any]) -> str:
    shown = value if isinstance(value, str) else "" if value is None else json.dumps(value)
    head = attrs(**common, rows=element.rows or 4, placeholder=element.placeholder)
    return f"<textarea{head}>{escape(shown)}</textarea>"


@control.register
def _checkbox(element: Checkbox, value: Any, common: dict[str, Any]) -> str:
    word = str(_single(value)).strip().lower()
    checked = value is True or word in TRUE_WORDS
    return "<input" + attrs(type="checkbox", **common, value="on", checked=checked) + ">"


@control.register
def _select(element: Select, value: Any, common: dict[str, Any]) -> str:
    current = _single(value)
    chosen = next((opt for opt in element.option if _matches(opt, current)), None)
    options = []
    if chosen is None or element.nullable:
        placeholder = element.placeholder or ""
        options.append(
            f'<option value=""{attrs(selected=chosen is None)}>{escape(placeholder)}</option>'
        )
    for opt in element.option:
        head = attrs(value=opt.name, selected=opt is chosen)
        options.append(f"<option{head}>{escape(opt.label or opt.name)}</option>")
    return f"<select{attrs(**common)}>\n" + "\n".join(options) + "\n</select>"


def _matches(option: InputOption, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return value == option.name
    return (type(value) is type(option.typed) and value == option.typed) or option_name(
        value
    ) == option.name


@control.register
def _files(element: InputFiles, value: Any, common: dict[str, Any]) -> str:
    return (
        "<input"
        + attrs(
            type="file",
            **common,
            multiple=element.multiple,
            webkitdirectory=element.directory,
            accept=element.accept,
        )
        + ">"
    )
