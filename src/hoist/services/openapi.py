"""What a service's OpenAPI document says about its enter endpoints: the real request
schema of each form, the answers (202, 422, 429, 500) and the ``x-hoist`` extension
that registration reads (summary, description, author, version, organization, tags,
entry).

A params model's JSON Schema keeps its nested models under ``$defs``, referenced as
``#/$defs/Name``; inside an OpenAPI document such a reference would point at the
document's root. :class:`SchemaDefs` moves them to ``components/schemas`` (renaming one
when two forms define different models of the same name) and rewrites the references.
"""

from __future__ import annotations

from typing import Any

from hoist import forms as F
from hoist.forms.elements import walk_inputs

__all__ = ["ENTER_RESPONSES", "FORM_RESPONSES", "X_HOIST", "SchemaDefs", "request_body"]

#: The OpenAPI extension of an enter endpoint's ``POST`` operation.
X_HOIST = "x-hoist"

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_ELEMENTS = {
    "type": "array",
    "items": {"type": "object", "properties": {"type": {"type": "string"}}},
}
_LAUNCHED = {
    "type": "object",
    "properties": {
        "run_id": {"type": "string"},
        "fid": {"type": "string"},
        "url": {"type": "string", "description": "the run's page, relative to the Hoist panel"},
        "status": {"type": "string", "enum": ["queued"]},
    },
    "required": ["run_id", "fid", "url", "status"],
}
_INVALID = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "object",
            "description": 'messages by field; "_global_" for the whole form',
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "elements": _ELEMENTS,
    },
    "required": ["errors", "elements"],
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


FORM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _json(
        {
            "type": "object",
            "properties": {"elements": _ELEMENTS, "schema": {"type": "object"}},
            "required": ["elements", "schema"],
        },
        "The form: its elements, and the JSON Schema of its inputs",
    )
}
ENTER_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        **_json(_LAUNCHED, "Launched: the run is queued"),
        "headers": {"Location": {"schema": {"type": "string"}}},
    },
    422: _json(_INVALID, "Invalid inputs: nothing was launched"),
    429: {
        **_json(_DETAIL, "The service is busy: nothing was launched"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    500: _json(_DETAIL, "The endpoint failed, or its entry point cannot be loaded"),
}


class SchemaDefs:
    """The shared definitions of the forms' schemas, for ``components/schemas``."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def adopt(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` without its ``$defs``, which are kept here, references rewritten."""
        schema = dict(schema)
        own = schema.pop("$defs", {})
        renames: dict[str, str] = {}
        for name, definition in own.items():
            target, n = name, 2
            while target in self.defs and self.defs[target] != definition:
                target, n = f"{name}{n}", n + 1
            renames[f"#/$defs/{name}"] = f"#/components/schemas/{target}"
        for name, definition in own.items():
            target = renames[f"#/$defs/{name}"].rsplit("/", 1)[1]
            self.defs[target] = _rewrite(definition, renames)
        rewritten: dict[str, Any] = _rewrite(schema, renames)
        return rewritten

    def install(self, document: dict[str, Any]) -> None:
        """Add the definitions to ``document``'s ``components/schemas``."""
        if self.defs:
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(self.defs)


def request_body(form: F.Model, defs: SchemaDefs) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a form: JSON, or a form post (multipart when the
    form takes files)."""
    schema = defs.adopt(form.json_schema())
    files = any(isinstance(i, F.InputFiles) for i in walk_inputs(form.elements))
    posted = "multipart/form-data" if files else "application/x-www-form-urlencoded"
    content = {"application/json": {"schema": schema}, posted: {"schema": schema}}
    return {"required": True, "content": content}


def _rewrite(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: renames.get(v, v) if k == "$ref" and isinstance(v, str) else _rewrite(v, renames)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(v, renames) for v in value]
    return value
