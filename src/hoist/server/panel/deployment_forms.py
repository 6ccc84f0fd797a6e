"""The invoke form of a deployment's page: generated from the JSON Schema of the
deployed call's inputs (``DeploymentRecord.input_schema``) by
:func:`~hoist.forms.generate.elements_from_schema`, else one JSON textarea; and the
inputs it posts, shaped the way the deployed call takes them.

The schema comes from the deployed code, so it is data, not trusted markup: a schema
the forms cannot show falls back to the JSON textarea, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hoist import forms as F
from hoist.errors import HoistError
from hoist.forms.generate import elements_from_schema

__all__ = ["JSON_FIELD", "InvokeForm", "invoke_form", "invoke_inputs"]

JSON_FIELD = "inputs"
"""The JSON textarea's name, when there is no schema to build a form from."""


@dataclass(frozen=True)
class InvokeForm:
    """A deployment's invoke form.

    Attributes:
        form: the form (its inputs, an error area and the submit button).
        generated: built from the input schema (``False``: the JSON textarea).
        note: why the schema could not be used, when it could not.
    """

    form: F.Model
    generated: bool
    note: str | None = None


def _json_form() -> F.Model:
    area = F.InputJSON(
        JSON_FIELD,
        "Inputs (JSON object)",
        value={},
        required=True,
        description="The inputs to call the deployment with, as one JSON object.",
    )
    return F.Model(F.Errors(), area, F.Submit("Invoke"))


def invoke_form(schema: Mapping[str, Any] | None) -> InvokeForm:
    """The invoke form for a deployment whose inputs have ``schema`` (``None``: unknown).

    A schema without properties, or one the forms cannot show, gives the JSON textarea
    (the latter with a note saying why).
    """
    if not schema:
        return InvokeForm(_json_form(), generated=False)
    try:
        elements = elements_from_schema(schema)
        if not elements:
            return InvokeForm(_json_form(), generated=False)
        return InvokeForm(F.Model(F.Errors(), *elements, F.Submit("Invoke")), generated=True)
    except (TypeError, ValueError, HoistError) as exc:  # HoistError: FormDefinitionError
        note = f"The deployment's input schema cannot be shown as a form ({exc}): type JSON."
        return InvokeForm(_json_form(), generated=False, note=note)


def invoke_inputs(found: InvokeForm, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a post of ``found``'s form; the inputs to call the deployment with.

    Raises:
        InputsError: fields that do not validate (or JSON that is not an object).
    """
    values = found.form.validate(data, form=True)
    if not found.generated:
        inputs = values.get(JSON_FIELD)
        if not isinstance(inputs, dict):
            raise F.InputsError(errors={JSON_FIELD: ["must be a JSON object ({...})"]})
        return inputs
    return _shape(found.form.elements, values, prefix="")


def _shape(elements: Sequence[F.Element], values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The flat ``{dotted name: value}`` of a declared form as nested objects (one per
    fieldset); inputs left blank (``None``) are left out, so the call's defaults apply."""
    out: dict[str, Any] = {}
    for element in elements:
        if isinstance(element, F.Fieldset):
            inner = _shape(element.elements, values, element.name + ".")
            if inner or element.required:
                out[element.name.removeprefix(prefix)] = inner
        elif isinstance(element, F.Input) and values.get(element.name) is not None:
            out[element.name.removeprefix(prefix)] = values[element.name]
    return out
