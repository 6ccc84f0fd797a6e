"""Reading submitted data: JSON bodies as they are, HTML form posts coerced.

A form post carries strings only, one key per input (repeated for multi-valued ones),
and leaves an unchecked checkbox out entirely. ``prepare`` turns it into the typed,
nested shape a JSON body would have had, so one validation serves both.

Blank inputs in a form post:

- an ``Optional`` (nullable) input: ``None``;
- a text, textarea or list input that is not required: ``""`` / ``[]``;
- anything else: not given (its default applies, or "field required").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hoist.forms.elements import (
    Checkbox,
    Element,
    Fieldset,
    Input,
    InputArea,
    InputFiles,
    InputJSON,
    InputList,
    InputPath,
    InputText,
    Select,
)

__all__ = ["ABSENT", "TRUE_WORDS", "is_form_post", "lookup", "prepare", "raw_values", "upload_list"]


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


#: Marks "no value was given" (distinct from ``None``, a given null).
ABSENT: Any = _Absent()
TRUE_WORDS = frozenset({"on", "true", "1", "yes", "y", "t"})
_FALSE = frozenset({"off", "false", "0", "no", "n", "f", ""})


def is_form_post(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` looks like an HTML form post rather than a JSON body.

    A multidict (anything with ``getlist``, as Starlette's ``FormData``) is a form post;
    so is a non-empty mapping whose values are all strings, uploads or lists of them.
    """
    if hasattr(data, "getlist"):
        return True
    return bool(data) and all(_formish(v) for v in data.values())


def raw_values(data: Mapping[str, Any], name: str) -> list[Any] | None:
    """Every value posted under ``name`` (``None`` when the key is absent)."""
    getlist = getattr(data, "getlist", None)
    if getlist is not None:
        found = list(getlist(name))
        return found or None
    if name not in data:
        return None
    value = data[name]
    return list(value) if isinstance(value, list | tuple) else [value]


def lookup(data: Mapping[str, Any], name: str) -> Any:
    """The value for a dotted ``name``: a flat key first, else a walk into nested dicts."""
    flat = raw_values(data, name)
    if flat is not None:
        return flat if len(flat) > 1 else flat[0]
    current: Any = data
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return ABSENT
        current = current[part]
    return current


def upload_list(raw: list[Any] | None) -> list[Any]:
    """The uploads among ``raw``: an empty file input posts a nameless, empty part."""
    if raw is None:
        return []
    kept = []
    for item in raw:
        if item is None or item == "" or getattr(item, "filename", True) in ("", None):
            continue
        kept.append(item)
    return kept


def prepare(
    elements: Sequence[Element],
    data: Mapping[str, Any],
    errors: dict[str, list[str]],
    *,
    nest: bool,
    prefix: str = "",
) -> tuple[dict[str, Any], bool]:
    """Coerce a form post for validation.

    Args:
        elements: the form's elements.
        data: the posted data.
        errors: collects messages for values that cannot even be read (bad JSON).
        nest: build nested dicts from fieldsets (a params model's form) rather than
            keep every name flat (a declared form).
        prefix: the enclosing fieldset's name plus a dot.

    Returns:
        The payload, and whether anything in it was actually filled in.
    """
    out: dict[str, Any] = {}
    given = False
    for element in elements:
        if isinstance(element, Fieldset):
            sub_prefix = f"{element.name}." if nest else prefix
            sub, sub_given = prepare(element.elements, data, errors, nest=nest, prefix=sub_prefix)
            given = given or sub_given
            if not nest:
                out.update(sub)
            elif sub_given or element.required:
                out[_key(element.name, prefix, nest)] = sub
            else:
                out[_key(element.name, prefix, nest)] = None
        elif isinstance(element, Input) and not isinstance(element, InputFiles):
            try:
                value = _coerce(element, raw_values(data, element.name))
            except ValueError as exc:
                errors.setdefault(element.name, []).append(str(exc))
                continue
            if value is not ABSENT:
                out[_key(element.name, prefix, nest)] = value
                given = given or _filled(value)
    return out, given


def _key(name: str, prefix: str, nest: bool) -> str:
    return name[len(prefix) :] if nest and name.startswith(prefix) else name


def _coerce(element: Input, raw: list[Any] | None) -> Any:
    if isinstance(element, Checkbox):
        if raw is None:
            return False
        word = str(raw[-1]).strip().lower()
        return True if word in TRUE_WORDS else False if word in _FALSE else raw[-1]
    if raw is None:
        return ABSENT
    if isinstance(element, InputList):
        lines = raw if len(raw) > 1 else str(raw[0]).splitlines()
        items = [str(item).strip() for item in lines if str(item).strip()]
        return items if items else _blank(element, [])
    value = raw[-1]
    if not isinstance(value, str):
        return value
    if not value.strip():
        return _blank(element, "")
    if isinstance(element, InputJSON):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("must be valid JSON") from None
    if isinstance(element, Select):
        picked = next((opt for opt in element.option if opt.name == value), None)
        return value if picked is None else picked.typed
    if isinstance(element, InputText | InputArea) and not isinstance(element, InputPath):
        return value
    return value.strip()


def _blank(element: Input, empty: Any) -> Any:
    if element.nullable:
        return None
    texty = isinstance(element, InputText | InputArea | InputList)
    if texty and not isinstance(element, InputPath) and not element.required:
        return empty
    return ABSENT


def _filled(value: Any) -> bool:
    return value is not None and value is not False and value != "" and value != []


def _formish(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_formish(v) for v in value)
    return isinstance(value, str) or hasattr(value, "filename")
