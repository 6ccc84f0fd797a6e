"""Form elements generated from a pydantic params model, by way of its JSON Schema.

Reading the schema rather than the annotations means ``Optional``, ``Annotated``
constraints, enums, literals and nested models arrive in one normalised shape. The
mapping:

=========================================  ===========================================
schema                                     element
=========================================  ===========================================
object with properties (nested model)      ``Fieldset`` of its inputs (dotted names)
``enum`` / ``const`` (Enum, Literal)       ``Select``
boolean                                    ``Checkbox``
integer / number                           ``InputNumber`` (min/max/step)
string, format password (``SecretStr``)   ``InputPassword``
string, format date / time / date-time     ``InputDate`` / ``InputTime`` / ``InputDateTime``
string, format path (``pathlib.Path``)     ``InputPath``
string, format textarea                    ``InputArea``
string                                     ``InputText`` (pattern, min/max length)
array of strings or numbers                ``InputList`` (one item per line)
anything else (dicts, unions...)           ``InputJSON``
=========================================  ===========================================

``anyOf [X, null]`` (``Optional[X]``) is X with ``nullable=True``: never required in
the browser, and a blank input means ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from hoist.forms.elements import (
    Checkbox,
    Element,
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
    ItemKind,
    Select,
    humanize,
)

__all__ = ["elements_for", "elements_from_schema", "html_pattern", "option_name"]

_STRING_FORMATS: dict[str, type[Input]] = {
    "password": InputPassword,
    "date": InputDate,
    "time": InputTime,
    "date-time": InputDateTime,
    "path": InputPath,
    "binary": InputFiles,
}
_MISSING: Any = object()
_SCALARS = ("string", "integer", "number", "boolean")


def elements_for(params: type[BaseModel]) -> list[Element]:
    """The input elements of a form for ``params`` (no buttons, no error area).

    Args:
        params: the pydantic model whose fields the form edits.

    Returns:
        One element per field, nested models as ``Fieldset``.
    """
    return elements_from_schema(params.model_json_schema(by_alias=True))


def elements_from_schema(schema: Mapping[str, Any]) -> list[Element]:
    """The input elements of a form for a JSON Schema of an object (no buttons, no
    error area): what :func:`elements_for` builds from a params model's schema, for a
    schema that arrived as data (a deployment's inputs, a service's model).

    Args:
        schema: a JSON Schema of an object: its ``properties`` become the inputs
            (``$defs`` resolve ``$ref``; a top-level ``$ref`` is followed). A schema
            with no properties (``{"type": "object"}``) has no inputs.

    Returns:
        One element per property, nested objects as ``Fieldset``.

    Raises:
        TypeError: ``schema``, its ``properties`` or its ``$defs`` are not mappings,
            or a property's schema is not one.
    """
    if not isinstance(schema, Mapping):
        raise TypeError(f"a JSON Schema must be an object, got {type(schema).__name__}")
    defs = schema.get("$defs", {})
    if not isinstance(defs, Mapping):
        raise TypeError(f"the schema's $defs must be an object, got {type(defs).__name__}")
    top, _ = _unwrap(schema, defs) if "$ref" in schema else (dict(schema), False)
    properties = top.get("properties", {})
    if not isinstance(properties, Mapping):
        raise TypeError(
            f"the schema's properties must be an object, got {type(properties).__name__}"
        )
    for key, prop in properties.items():
        if not isinstance(prop, Mapping):
            raise TypeError(f"property {key!r}: its schema must be an object, got {prop!r}")
    return _object(top, defs, prefix="", defaults={})


def option_name(value: Any) -> str:
    """The string a browser posts for an enum value: the string itself, else its JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def html_pattern(pattern: str) -> str:
    """Turn a search pattern (pydantic's) into one with HTML's whole-value semantics."""
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f".*(?:{pattern}).*"


def _object(
    schema: Mapping[str, Any], defs: Mapping[str, Any], prefix: str, defaults: Any
) -> list[Element]:
    required = set(schema.get("required", ()))
    out: list[Element] = []
    for key, prop in schema.get("properties", {}).items():
        if defaults is None:
            default = None  # the group itself defaults to None: leave its inputs blank
        elif isinstance(defaults, Mapping) and key in defaults:
            default = defaults[key]  # the enclosing default outranks the field's own
        else:
            default = prop.get("default", _MISSING)
        out.append(_element(prefix + key, prop, defs, key in required, default))
    return out


def _element(
    path: str, prop: Mapping[str, Any], defs: Mapping[str, Any], required: bool, default: Any
) -> Element:
    resolved, nullable = _unwrap(prop, defs)
    # A $ref'd definition's title is its class name: only the field's own title labels it.
    label = prop.get("title") or humanize(path)
    description = prop.get("description") or resolved.get("description")
    if "properties" in resolved:
        children = _object(resolved, defs, f"{path}.", default)
        return Fieldset(path, children, label, required=not nullable, description=description)
    common: dict[str, Any] = {
        "label": label,
        "required": required and not nullable,
        "nullable": nullable,
        "description": description,
        "value": None if default is _MISSING else default,
    }
    return _leaf(path, resolved, common)


def _leaf(path: str, s: Mapping[str, Any], common: dict[str, Any]) -> Input:
    kind = s.get("type")
    if "enum" in s or "const" in s:
        choices = s["enum"] if "enum" in s else [s["const"]]
        options = [InputOption(option_name(c), str(c), choice=c) for c in choices]
        return Select(path, option=options, **common)
    if kind == "boolean":
        # Unchecked is always an answer (False): a checkbox is never required here.
        return Checkbox(path, **{**common, "required": False, "value": bool(common["value"])})
    if kind in ("integer", "number"):
        return _number(path, s, integer=kind == "integer", common=common)
    if kind == "string":
        fmt = s.get("format", "")
        if fmt == "password":
            common["value"] = None  # never echo a secret, not even its default
        if fmt in _STRING_FORMATS:
            return _STRING_FORMATS[fmt](path, **common)
        low, high = s.get("minLength"), s.get("maxLength")
        if fmt == "textarea":
            return InputArea(path, **common, min_length=low, max_length=high)
        pattern = s.get("pattern")
        return InputText(
            path,
            **common,
            min_length=low,
            max_length=high,
            pattern=html_pattern(pattern) if pattern else None,
        )
    if kind == "array":
        item_kind = _item_kind(s.get("items", {}))
        if item_kind is not None:
            return InputList(
                path,
                **common,
                item_kind=item_kind,
                min_items=s.get("minItems"),
                max_items=s.get("maxItems"),
            )
    return InputJSON(path, **common)


def _number(path: str, s: Mapping[str, Any], *, integer: bool, common: dict[str, Any]) -> Input:
    low, high = s.get("minimum"), s.get("maximum")
    # The browser knows no exclusive bounds; for integers they shift by one, for floats
    # the bound stays inclusive in the browser, the form says it is strict ("> 0") and
    # the server enforces it.
    low_strict = high_strict = False
    if low is None and s.get("exclusiveMinimum") is not None:
        low, low_strict = s["exclusiveMinimum"] + (1 if integer else 0), not integer
    if high is None and s.get("exclusiveMaximum") is not None:
        high, high_strict = s["exclusiveMaximum"] - (1 if integer else 0), not integer
    return InputNumber(
        path,
        **common,
        min_value=low,
        max_value=high,
        min_exclusive=low_strict,
        max_exclusive=high_strict,
        step=s.get("multipleOf"),
        integer=integer,
    )


def _item_kind(items: Mapping[str, Any]) -> ItemKind | None:
    kind = items.get("type")
    if kind in ("string", "integer", "number") and "enum" not in items:
        result: ItemKind = kind
        return result
    return None


def _unwrap(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Resolve ``$ref``/``allOf``/``anyOf [X, null]``: the effective schema, and nullability."""
    current = dict(prop)
    nullable = False
    while True:
        if "$ref" in current:
            target = defs.get(str(current.pop("$ref")).rsplit("/", 1)[-1], {})
            current = {**target, **current}
        elif len(current.get("allOf", ())) == 1:
            current = {**current.pop("allOf")[0], **current}
        elif "anyOf" in current or "oneOf" in current:
            variants = current.get("anyOf") or current.get("oneOf") or []
            rest = [v for v in variants if v.get("type") != "null"]
            nullable = nullable or len(rest) < len(variants)
            if len(rest) != 1:
                # A union: scalars are typed as text (pydantic picks the variant), and
                # so is one a string can satisfy (a path or a DatasetRef: people type
                # the path); the rest as JSON.
                outer = {k: v for k, v in current.items() if k not in ("anyOf", "oneOf")}
                if all(v.get("type") in _SCALARS for v in rest) or any(
                    v.get("type") == "string" for v in rest
                ):
                    outer["type"] = "string"
                return outer, nullable
            current = {
                **rest[0],
                **{k: v for k, v in current.items() if k not in ("anyOf", "oneOf")},
            }
        else:
            return current, nullable
