"""``module.path:Attr.path`` resolution: the one place that turns an entrypoint string
into the object it names (plugins' actions and data types, executor modes, CLI command
groups, pipeline nodes and retry exceptions, a worker's rebuilt exceptions)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["MissingAttributeError", "resolve_entrypoint"]


class MissingAttributeError(AttributeError):
    """The module imported, but the attribute path does not exist in it.

    The message names the deepest object found and the missing attribute, e.g.
    ``module 'plugin.actions' has no attribute 'Train'``; ``.obj`` is that object and
    ``.name`` the missing attribute (so callers can suggest close names).
    """


def resolve_entrypoint(
    entrypoint: str, importer: Callable[[str], ModuleType] = importlib.import_module
) -> Any:
    """Import ``module.path:Attr.path`` and return the attribute.

    Args:
        entrypoint: the module, a colon, and a dotted attribute path inside it.
        importer: imports a module by name (a plugin's namespace passes its own).

    Raises:
        ValueError: ``entrypoint`` has no ``:`` or an empty side.
        Exception: whatever importing the module raises (``ImportError`` and others).
        MissingAttributeError: the module has no such attribute.
    """
    module_name, _, qualname = entrypoint.partition(":")
    if not module_name or not qualname:
        raise ValueError(f"an entrypoint looks like 'module.path:Attribute', got {entrypoint!r}")
    target: Any = importer(module_name)
    walked = module_name
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            kind = "module" if isinstance(target, ModuleType) else "object"
            message = f"{kind} {walked!r} has no attribute {part!r}"
            raise MissingAttributeError(message, name=part, obj=target) from None
        walked = f"{walked}:{part}" if walked == module_name else f"{walked}.{part}"
    return target
