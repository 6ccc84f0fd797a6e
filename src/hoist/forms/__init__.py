"""Forms: declared element by element, or generated from a pydantic params model.

Imported as ``F``, in kodosumi's style::

    from hoist import forms as F

    form = F.Model(
        F.Markdown("# My Service"),
        F.InputText(label="Number of Tasks", name="tasks", value="25"),
        F.Submit("Submit"),
        F.Cancel("Cancel"),
    )
    form.render(values, errors, csrf_token=token)   # an HTML fragment
    form.json_schema()                              # for OpenAPI
    form.validate(data)                             # or raises F.InputsError

    F.form_for(TrainParams)                         # the same, from a params model
"""

from __future__ import annotations

from hoist.forms.elements import (
    HR,
    HTML,
    Action,
    Break,
    Cancel,
    Checkbox,
    Element,
    Errors,
    Fieldset,
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
    Markdown,
    Select,
    Submit,
)
from hoist.forms.errors import GLOBAL, FormDefinitionError, InputsError
from hoist.forms.htmltext import field_id
from hoist.forms.model import Model, form_for

__all__ = [
    "GLOBAL",
    "HR",
    "HTML",
    "Action",
    "Break",
    "Cancel",
    "Checkbox",
    "Element",
    "Errors",
    "Fieldset",
    "FormDefinitionError",
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
    "InputsError",
    "Markdown",
    "Model",
    "Select",
    "Submit",
    "field_id",
    "form_for",
]
