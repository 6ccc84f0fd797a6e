"""What a plugin's actions look like: :class:`ActionInfo` and :class:`ParamInfo`, and
the import-based scan that produces them (:func:`scan_module`, :func:`scan_package`).

:mod:`hoist.plugins.ast_scan` answers in the same shape without importing anything, so
``hoist plugins show`` and ``sync_config`` treat both scans alike.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from hoist.plugins import types as data_types
from hoist.plugins.action import AnyParams, BaseAction
from hoist.plugins.categories import PluginCategory
from hoist.plugins.decorators import as_action_class, is_action
from hoist.plugins.loader import PluginNamespace

__all__ = [
    "CONSTRAINTS",
    "EMPTY_FACTORIES",
    "ActionInfo",
    "ParamInfo",
    "ScanResult",
    "model_params",
    "scan_module",
    "scan_package",
]

CONSTRAINTS = ("ge", "le", "gt", "lt", "min_length", "max_length", "pattern", "multiple_of")
"""Field constraints a :class:`ParamInfo` reports."""
EMPTY_FACTORIES: dict[Any, Callable[[], Any]] = {list: list, dict: dict, set: list, tuple: list}
"""Default factories whose value a scan reports as the default (sets/tuples as lists)."""
_TESTS = re.compile(r"(^|\.)(tests?|conftest|setup|__main__|test_\w+|\w+_test)(\.|$)")


@dataclass
class ParamInfo:
    """One field of a params (or result) model.

    Attributes:
        name: the field name.
        type: the annotation, as text (``int``, ``list[str]``).
        required: no default.
        default: the default when it is a literal, else ``None``.
        description: ``Field(description=...)``.
        constraints: ``{"ge": 1, "le": 1024, ...}``.
    """

    name: str
    type: str
    required: bool
    default: Any = None
    description: str = ""
    constraints: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActionInfo:
    """What a scan knows about one action.

    Attributes:
        name: the action name (``action_name``, or the snake-cased class name).
        entrypoint: ``module.path:Attr``, relative to the plugin folder.
        description: one line.
        category: a :class:`PluginCategory` value.
        params: the params model's fields; ``result``: the result model's fields.
        params_model, result_model: the models' class names.
        input_type, output_type: data type names (or ``module:Class`` paths).
        kind: ``"class"`` or ``"function"``.
        source: ``"import"`` or ``"ast"``: which scan found it.
    """

    name: str
    entrypoint: str
    description: str = ""
    category: str = PluginCategory.CUSTOM.value
    params: list[ParamInfo] = field(default_factory=list)
    result: list[ParamInfo] = field(default_factory=list)
    params_model: str | None = None
    result_model: str | None = None
    input_type: str | None = None
    output_type: str | None = None
    kind: str = "class"
    source: str = "import"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON output)."""
        return asdict(self)


class ScanResult(list[ActionInfo]):
    """A list of :class:`ActionInfo` that also carries the scan's ``warnings``
    (files that could not be parsed and were skipped)."""

    def __init__(self, actions: Iterable[ActionInfo] = (), warnings: Iterable[str] = ()) -> None:
        super().__init__(actions)
        self.warnings = list(warnings)


# ---------------------------------------------------------------------------- import scan
def scan_module(
    module: ModuleType, *, namespace: PluginNamespace | None = None
) -> list[ActionInfo]:
    """The actions ``module`` defines: concrete :class:`BaseAction` subclasses and
    ``@action`` functions, not ones it imports from elsewhere.

    Args:
        module: an imported module.
        namespace: the plugin namespace it was imported in; entrypoints are then
            relative to the plugin (no synthetic prefix).
    """
    name = module.__name__
    relative = namespace.unqualify(name) if namespace is not None else name
    found: list[ActionInfo] = []
    for attr, obj in list(vars(module).items()):
        if getattr(obj, "__module__", None) != name or getattr(obj, "__qualname__", "") != attr:
            continue
        if isinstance(obj, type):
            if not issubclass(obj, BaseAction) or obj is BaseAction or inspect.isabstract(obj):
                continue
            if obj.execute is BaseAction.execute and obj.setup_steps is BaseAction.setup_steps:
                continue  # a helper base class, not an action
            found.append(_info(obj, f"{relative}:{attr}", "class", namespace))
        elif is_action(obj):
            found.append(_info(as_action_class(obj), f"{relative}:{attr}", "function", namespace))
    return found


def scan_package(target: PluginNamespace | ModuleType) -> list[ActionInfo]:
    """The actions of every module of a plugin namespace or a package (tests skipped).

    Raises:
        Exception: whatever importing a module raises.
    """
    if isinstance(target, PluginNamespace):
        modules = [target.import_module(n) for n in target.module_names()]
    else:
        modules = [target]
        path = getattr(target, "__path__", None)
        if path is not None:
            for sub in pkgutil.walk_packages(path, target.__name__ + "."):
                if not _TESTS.search(sub.name.removeprefix(target.__name__)):
                    modules.append(importlib.import_module(sub.name))
    seen: set[str] = set()
    found: list[ActionInfo] = []
    namespace = target if isinstance(target, PluginNamespace) else None
    for module in modules:
        for info in scan_module(module, namespace=namespace):
            if info.entrypoint not in seen:
                seen.add(info.entrypoint)
                found.append(info)
    return found


def _info(
    cls: type[BaseAction[Any]], entrypoint: str, kind: str, namespace: PluginNamespace | None
) -> ActionInfo:
    return ActionInfo(
        name=cls.action_name,
        entrypoint=entrypoint,
        description=cls.description,
        category=str(cls.category),
        params=model_params(cls.params_model),
        result=model_params(cls.result_model),
        params_model=None if cls.params_model is AnyParams else cls.params_model.__name__,
        result_model=cls.result_model.__name__ if cls.result_model is not None else None,
        input_type=_type_ref(cls.input_type, namespace),
        output_type=_type_ref(cls.output_type, namespace),
        kind=kind,
        source="import",
    )


def _type_ref(cls: type | None, namespace: PluginNamespace | None) -> str | None:
    if cls is None:
        return None
    if cls.__module__ == data_types.__name__:
        return cls.__name__
    module = namespace.unqualify(cls.__module__) if namespace else cls.__module__
    return f"{module}:{cls.__qualname__}"


def model_params(model: type[BaseModel] | None) -> list[ParamInfo]:
    """The fields of a pydantic model as :class:`ParamInfo` s."""
    if model is None or model is AnyParams:
        return []
    params = []
    for name, info in model.model_fields.items():
        constraints = {
            attr: getattr(meta, attr)
            for meta in info.metadata
            for attr in CONSTRAINTS
            if getattr(meta, attr, None) is not None
        }
        default = None if info.default is PydanticUndefined else info.default
        if info.default_factory in EMPTY_FACTORIES:
            default = EMPTY_FACTORIES[info.default_factory]()
        params.append(
            ParamInfo(
                name, _type_text(info.annotation), info.is_required(), default,
                info.description or "", constraints,
            )
        )  # fmt: skip
    return params


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    text = str(annotation).replace("typing.", "")
    return re.sub(r"_hoist_plugin_\w+?_[0-9a-f]{8}\.", "", text)
