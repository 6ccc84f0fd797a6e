"""Reading values out of :mod:`ast` nodes for the source scan (:mod:`.ast_scan`):
literals, dotted names, ``Field(...)`` calls and the params they describe."""

from __future__ import annotations

import ast
from typing import Any

from hoist.plugins.categories import PluginCategory
from hoist.plugins.scan import CONSTRAINTS, EMPTY_FACTORIES, ParamInfo

_CLASSVAR = {"ClassVar", "typing.ClassVar"}


def _param(name: str, annotation: ast.expr, value: ast.expr | None) -> ParamInfo:
    text = ast.unparse(annotation)
    field_call = None
    if isinstance(annotation, ast.Subscript) and _dotted(annotation.value) in _ANNOTATED:
        elements = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else []
        if elements:
            text = ast.unparse(elements[0])
            field_call = next((e for e in elements[1:] if _is_field(e)), None)
    if value is not None and _is_field(value):
        field_call = value
        value = None
        assert isinstance(field_call, ast.Call)
        default_node: ast.expr | None = field_call.args[0] if field_call.args else None
        kw = {k.arg: k.value for k in field_call.keywords if k.arg}
        default_node = kw.get("default", default_node)
        factory = kw.get("default_factory")
        if factory is not None:
            factories = {f.__name__: f for f in EMPTY_FACTORIES}
            made = factories.get(_dotted(factory) or "")
            info = ParamInfo(name, text, False, EMPTY_FACTORIES[made]() if made else None)
        elif default_node is None or _is_ellipsis(default_node):
            info = ParamInfo(name, text, True)
        else:
            info = ParamInfo(name, text, False, _literal(default_node))
    elif value is None:
        info = ParamInfo(name, text, True)
    else:
        info = ParamInfo(name, text, False, _literal(value))
    if isinstance(field_call, ast.Call):
        for k in field_call.keywords:
            if k.arg == "description":
                described = _literal(k.value)
                info.description = described if isinstance(described, str) else ""
            elif k.arg in CONSTRAINTS:
                found = _literal(k.value, missing=ast.unparse(k.value))
                info.constraints[k.arg] = found
    return info


_ANNOTATED = {"Annotated", "typing.Annotated", "typing_extensions.Annotated"}


def _is_field(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and (_dotted(node.func) or "").rpartition(".")[2] == "Field"


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _unwrap(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Subscript) else node


def _dotted(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _literal(node: ast.expr | None, missing: Any = None) -> Any:
    if node is None:
        return missing
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return missing


def _category(node: ast.expr | None) -> str:
    value = _literal(node)
    if isinstance(value, str) and value in PluginCategory._value2member_map_:
        return value
    dotted = _dotted(node) if isinstance(node, ast.Attribute) else None
    member = (dotted or "").rpartition(".")[2]
    if member in PluginCategory.__members__:
        return PluginCategory[member].value
    return PluginCategory.CUSTOM.value


def _defines(node: ast.ClassDef, name: str) -> bool:
    return any(
        isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name for s in node.body
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
