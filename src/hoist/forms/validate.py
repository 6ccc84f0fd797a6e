"""Server-side validation of submitted inputs, JSON or form post alike.

The result is JSON-ready: ``validator.model_validate(payload)`` dumped by alias in JSON
mode, except that secrets (``SecretStr``) are revealed, because the action the inputs
are for needs them (never log the result). For a params model's form the result
round-trips: ``Params.model_validate(result)`` gives the validated model back. Uploads
of a file input stay the file objects that were posted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_core import ErrorDetails, to_jsonable_python

from hoist.errors import field_errors_from_pydantic
from hoist.forms.elements import (
    Action,
    Checkbox,
    Element,
    InputFiles,
    element_names,
    walk_inputs,
)
from hoist.forms.errors import GLOBAL, InputsError
from hoist.forms.postdata import TRUE_WORDS, is_form_post, prepare, raw_values, upload_list

__all__ = ["validate_inputs"]

# Pydantic's own words for these are about its parser; a form's user wants the format.
_MESSAGES = {
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date (YYYY-MM-DD)",
    "date_type": "must be a date (YYYY-MM-DD)",
    "time_parsing": "must be a time (HH:MM)",
    "time_type": "must be a time (HH:MM)",
    "datetime_parsing": "must be a date and time (YYYY-MM-DDTHH:MM)",
    "datetime_from_date_parsing": "must be a date and time (YYYY-MM-DDTHH:MM)",
    "datetime_type": "must be a date and time (YYYY-MM-DDTHH:MM)",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
}


def validate_inputs(
    elements: Sequence[Element],
    validator: type[BaseModel],
    data: Mapping[str, Any],
    *,
    nest: bool,
    form: bool | None = None,
) -> dict[str, Any]:
    """Validate and coerce ``data`` against a form.

    Args:
        elements: the form's elements.
        validator: the pydantic model to validate with (the params model, or the one
            built from a declared form).
        data: a JSON body, or a form post (a multidict, or a mapping whose values may
            be lists for repeated keys).
        nest: dotted names form nested dicts (a params model's form).
        form: ``True`` for a form post, ``False`` for a JSON body, ``None`` to guess
            (see ``is_form_post``). Only a form post has absent checkboxes mean
            ``False`` and blank inputs mean "not given".

    Returns:
        The validated inputs, JSON-ready.

    Raises:
        InputsError: every failing field with its messages.
    """
    errors: dict[str, list[str]] = {}
    as_form = is_form_post(data) if form is None else form
    if as_form:
        payload, _ = prepare(elements, data, errors, nest=nest)
    else:
        payload = dict(data)
    inputs = walk_inputs(elements)
    for element in inputs:
        if isinstance(element, InputFiles):
            payload.pop(element.name, None)
    result: dict[str, Any] = {}
    try:
        instance = validator.model_validate(payload)
    except ValidationError as exc:
        _merge(errors, _map_errors(exc.errors(), element_names(elements)))
    else:
        result = to_jsonable_python(_reveal(instance.model_dump(by_alias=True)))
    for element in inputs:
        if isinstance(element, Checkbox) and element.required:
            # Checked even when other inputs failed: every error is reported at once.
            ticked = result[element.name] if result else payload.get(element.name, False)
            if not (ticked is True or str(ticked).strip().lower() in TRUE_WORDS):
                errors.setdefault(element.name, []).append("must be checked")
        if isinstance(element, InputFiles):
            _files(element, raw_values(data, element.name), result, errors)
    _actions(elements, data, result, errors)
    if errors:
        raise InputsError(errors=errors)
    return result


def _files(
    element: InputFiles, raw: list[Any] | None, result: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    uploads = upload_list(raw)
    if element.required and not uploads:
        errors.setdefault(element.name, []).append("field required")
    elif not element.multiple and len(uploads) > 1:
        errors.setdefault(element.name, []).append("must be a single file")
    result[element.name] = uploads


def _actions(
    elements: Sequence[Element],
    data: Mapping[str, Any],
    result: dict[str, Any],
    errors: dict[str, list[str]],
) -> None:
    allowed: dict[str, list[str]] = {}
    for element in elements:
        if isinstance(element, Action):
            allowed.setdefault(element.name, []).append(element.value)
    for name, values in allowed.items():
        raw = raw_values(data, name)
        if raw is None:
            continue
        if str(raw[-1]) in values:
            result[name] = str(raw[-1])
        else:
            errors.setdefault(GLOBAL, []).append(f"unknown action {str(raw[-1])!r}")


def _map_errors(details: Iterable[ErrorDetails], names: set[str]) -> dict[str, list[str]]:
    """Key each pydantic error by the input it belongs to; the rest are global."""
    out: dict[str, list[str]] = {}
    for detail in details:
        path = ".".join(str(part) for part in detail["loc"])
        message = _message(detail)
        owner = _owner(path, names)
        if owner is None:
            key, text = GLOBAL, f"{path}: {message}" if path else message
        elif owner == path:
            key, text = owner, message
        else:
            rest = path[len(owner) + 1 :]
            where = f"item {int(rest) + 1}" if rest.isdigit() else rest
            key, text = owner, f"{where}: {message}"
        out.setdefault(key, []).append(text)
    return out


def _owner(path: str, names: set[str]) -> str | None:
    if not path:
        return None
    candidate = path
    while True:
        if candidate in names:
            return candidate
        if "." not in candidate:
            return None
        candidate = candidate.rsplit(".", 1)[0]


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind in ("value_error", "assertion_error"):
        # A model's own validator: its message as written, without pydantic's prefix.
        return str((detail.get("ctx") or {}).get("error", detail["msg"]))
    ctx = dict(detail.get("ctx") or {})
    pattern = str(ctx.get("pattern", ""))
    if pattern.startswith("^(?:") and pattern.endswith(")$"):
        ctx["pattern"] = pattern[4:-2]  # a declared pattern, as its author wrote it
    return field_errors_from_pydantic([{**detail, "loc": (), "ctx": ctx}])[GLOBAL][0]


def _merge(errors: dict[str, list[str]], more: Mapping[str, list[str]]) -> None:
    # A value that could not be read (bad JSON) already has its message; pydantic's
    # "field required" for the same input would only repeat it.
    for key, messages in more.items():
        if key not in errors:
            errors[key] = list(messages)


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reveal(v) for v in value]
    return value
