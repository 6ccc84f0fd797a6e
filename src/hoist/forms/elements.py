"""All form elements in one namespace, and walks over a form's element tree.

Every element is a small frozen dataclass that only describes; rendering, validation
and the JSON Schema live in their own modules and dispatch on the element's type.
"""

from __future__ import annotations

from collections.abc import Sequence

from hoist.forms.base import Element, humanize
from hoist.forms.inputs import (
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
    InputPath,
    InputText,
    InputTime,
    ItemKind,
    Select,
)
from hoist.forms.layout import HR, HTML, Action, Break, Cancel, Errors, Fieldset, Markdown, Submit

__all__ = [
    "HR",
    "HTML",
    "Action",
    "Break",
    "Cancel",
    "Checkbox",
    "Element",
    "Errors",
    "Fieldset",
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
    "Markdown",
    "Select",
    "Submit",
    "element_names",
    "humanize",
    "walk_inputs",
]


def walk_inputs(elements: Sequence[Element]) -> list[Input]:
    """The inputs among ``elements``, fieldsets opened, in document order."""
    out: list[Input] = []
    for element in elements:
        if isinstance(element, Input):
            out.append(element)
        elif isinstance(element, Fieldset):
            out.extend(walk_inputs(element.elements))
    return out


def element_names(elements: Sequence[Element]) -> set[str]:
    """The names that can carry errors: inputs, fieldsets and action buttons."""
    names: set[str] = set()
    for element in elements:
        if isinstance(element, Input | Action):
            names.add(element.name)
        elif isinstance(element, Fieldset):
            names.add(element.name)
            names.update(element_names(element.elements))
    return names
