"""A service's form over HTTP: its elements as JSON (what ``GET`` of an enter endpoint
and a 422 answer carry) and back, a request body read as a JSON body or a form post, and
inputs with their secrets masked for the run record.

The JSON of an element is its dataclass fields plus a ``type``: an input's ``kind``
(``text``, ``password``, ``integer``, ``select``, ``files``...), or the lower-cased class
name of a layout element (``markdown``, ``submit``, ``fieldset``...). A fieldset holds its
``elements``, a select its ``option`` list. :func:`elements_from_json` reads it back, so
a form fetched from a service can be rendered and validated elsewhere (the panel).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

from hoist import forms as F
from hoist.forms.elements import Element, walk_inputs
from hoist.plugins.invoke import SECRET_MASK
from hoist.services.uploads import UploadLimits, read_multipart

__all__ = [
    "MASK",
    "element_json",
    "elements_from_json",
    "elements_json",
    "form_of",
    "masked_inputs",
    "read_body",
]

#: What a secret reads as in a run's recorded params (pydantic's own mask).
MASK = SECRET_MASK

_LAYOUT: tuple[type[Element], ...] = (
    F.Markdown, F.HTML, F.Break, F.HR, F.Errors, F.Submit, F.Cancel, F.Action, F.Fieldset,
)  # fmt: skip
_INPUTS: tuple[type[F.Input], ...] = (
    F.InputText, F.InputPassword, F.InputPath, F.InputArea, F.InputList, F.InputJSON,
    F.InputNumber, F.InputDate, F.InputTime, F.InputDateTime, F.Checkbox, F.Select,
    F.InputFiles,
)  # fmt: skip
_BY_TYPE: dict[str, type[Element]] = {
    **{cls.__name__.lower(): cls for cls in _LAYOUT},
    **{cls.kind_name: cls for cls in _INPUTS},
    "integer": F.InputNumber,
}


def form_of(model: Any) -> F.Model:
    """The form of an enter endpoint: a ``F.Model`` as it is, a pydantic model class as
    its generated form (``F.form_for``).

    Raises:
        TypeError: ``model`` is neither.
    """
    if isinstance(model, F.Model):
        return model
    if isinstance(model, type) and issubclass(model, BaseModel):
        return F.form_for(model)
    raise TypeError(
        f"model must be a forms model (F.Model(...)) or a pydantic model class, got {model!r}"
    )


def element_json(element: Element) -> dict[str, Any]:
    """One element as JSON data (a password input never carries its value)."""
    kind = element.kind if isinstance(element, F.Input) else type(element).__name__.lower()
    out: dict[str, Any] = {"type": kind}
    for spec in dataclasses.fields(element):  # type: ignore[arg-type]
        if spec.name == "_":
            continue
        value = getattr(element, spec.name)
        if isinstance(element, F.InputPassword) and spec.name == "value":
            value = None
        if isinstance(element, F.Fieldset | F.Select) and spec.name in ("elements", "option"):
            value = [element_json(child) for child in value]
        out[spec.name] = to_jsonable_python(value)
    return out


def elements_json(form: F.Model) -> list[dict[str, Any]]:
    """Every element of ``form`` as JSON data, in order."""
    return [element_json(element) for element in form.elements]


def elements_from_json(data: Sequence[Mapping[str, Any]]) -> list[Element]:
    """Rebuild elements from :func:`elements_json`'s data.

    Raises:
        ValueError: an element of an unknown ``type``, or with fields it does not take.
    """
    return [_element(item) for item in data]


def _element(item: Mapping[str, Any]) -> Element:
    fields = dict(item)
    kind = str(fields.pop("type", ""))
    cls = _BY_TYPE.get(kind)
    if cls is None:
        raise ValueError(f"unknown form element type {kind!r}")
    if cls is F.Fieldset and "elements" in fields:
        fields["elements"] = elements_from_json(fields["elements"])
    if cls is F.Select and "option" in fields:
        fields["option"] = [F.InputOption(**opt) for opt in _without_type(fields["option"])]
    if cls is F.InputNumber:
        fields["integer"] = kind == "integer" or bool(fields.get("integer"))
    try:
        return cls(**fields)
    except TypeError as exc:
        raise ValueError(f"form element {kind!r}: {exc}") from None


def _without_type(options: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in opt.items() if k != "type"} for opt in options]


async def read_body(
    request: Any, uploads: UploadLimits | None = None
) -> tuple[Mapping[str, Any], bool]:
    """The submitted data of ``request`` and whether it is a form post.

    A ``multipart/form-data`` or ``application/x-www-form-urlencoded`` body is a form
    post (a multidict of strings and uploads); anything else is read as a JSON object (an
    empty body is ``{}``). With ``uploads``, a multipart body's files are streamed to
    disk within those limits (:func:`~hoist.services.uploads.read_multipart`).

    Raises:
        InputsError: the body is not JSON, or not a JSON object.
        UploadTooLargeError: an upload exceeds ``uploads``' limits.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data" and uploads is not None:
        return await read_multipart(request, uploads), True
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await request.form(), True
    raw = await request.body()
    if not raw.strip():
        return {}, False
    try:
        data = json.loads(raw)
    except ValueError:
        raise F.InputsError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise F.InputsError("the request body must be a JSON object of inputs")
    return data, False


def masked_inputs(inputs: Any, form: F.Model | None = None) -> dict[str, Any]:
    """``inputs`` as the run records them: JSON data with every secret masked.

    Secrets are the form's password inputs (dotted names reach into nested dicts) and
    any ``SecretStr``/``SecretBytes`` value (a pydantic model's secret fields too).

    Args:
        inputs: a dict of inputs, a pydantic model, or ``None``.
        form: the endpoint's form, whose password inputs are masked by name.
    """
    if inputs is None:
        return {}
    data = _mask_values(inputs)
    if not isinstance(data, dict):
        data = {"inputs": data}
    if form is not None:
        for element in walk_inputs(form.elements):
            if isinstance(element, F.InputPassword):
                _mask_path(data, element.name.split("."))
    out: dict[str, Any] = to_jsonable_python(data, fallback=str)
    return out


def _mask_values(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, BaseModel):
        # mode="json" masks SecretStr fields itself.
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Mapping):
        return {str(k): _mask_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_values(v) for v in value]
    return value


def _mask_path(data: dict[str, Any], parts: list[str]) -> None:
    # A flat dotted key (a declared form keeps names flat) or a walk into nested dicts.
    dotted = ".".join(parts)
    if dotted in data:
        if data[dotted] not in (None, ""):
            data[dotted] = MASK
        return
    head, rest = parts[0], parts[1:]
    child = data.get(head)
    if rest and isinstance(child, dict):
        _mask_path(child, rest)
