"""A plugin's ``config.yaml``: its pydantic schema and a loader whose errors name the
file, the line and the key::

    name: My Plugin
    code: my_plugin
    version: 0.1.0
    category: custom
    actions:
      process:
        name: Process Files
        description: Process input files with batch processing
        entrypoint: my_plugin.actions:ProcessAction
        method: task

Unknown keys are errors (a misspelled ``actons`` must not silently drop every action).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from hoist._entrypoints import resolve_entrypoint
from hoist._yaml_lines import is_map, key_line, line_of, plain, read_yaml
from hoist.errors import ConfigError, field_errors_from_pydantic
from hoist.plugins import types as data_types
from hoist.plugins.categories import PluginCategory

__all__ = [
    "DATA_TYPES",
    "ENTRYPOINT_PATTERN",
    "ActionConfig",
    "Method",
    "PluginConfig",
    "load_config",
    "parse_config",
    "resolve_data_type",
]

Method = Literal["local", "task", "job", "serve"]
ENTRYPOINT_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_ENTRYPOINT_RULE = "entrypoint must look like 'module.path:Attribute'"


def _known_types() -> dict[str, type[data_types.DataType]]:
    found = {}
    for name in data_types.__all__:
        obj = getattr(data_types, name)
        if isinstance(obj, type) and issubclass(obj, data_types.DataType):
            found[name] = obj
    return found


DATA_TYPES = _known_types()
"""Data type names usable as ``input_type`` / ``output_type`` without a module path."""


class ActionConfig(BaseModel):
    """One entry of ``actions:``.

    Attributes:
        name: display name (the mapping key is the action's name).
        entrypoint: ``module.path:Attribute``, relative to the plugin folder.
        method: how the action is meant to run: ``local``, ``task``, ``job`` or ``serve``;
            the default mode of ``run_plugin``, ``hoist run`` and the server when they are
            given none (``local`` when this is not set either).
        description: one line.
        input_type, output_type: a data type name from :mod:`hoist.plugins.types`
            (``YOLODataset``) or a dotted path (``pkg.mod:Class``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    entrypoint: str
    method: Method | None = None
    description: str = ""
    input_type: str | None = None
    output_type: str | None = None

    # Where this entry came from, so that late errors (an entrypoint that does not
    # import) still point at the right line.
    _path: str = PrivateAttr("config.yaml")
    _key: str = PrivateAttr("actions")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @field_validator("entrypoint")
    @classmethod
    def _check_entrypoint(cls, value: str) -> str:
        if not ENTRYPOINT_PATTERN.match(value.strip()):
            raise ValueError(f"{_ENTRYPOINT_RULE}, got {value!r}")
        return value.strip()

    @field_validator("input_type", "output_type")
    @classmethod
    def _check_type(cls, value: str | None) -> str | None:
        if value is None or ":" in value:
            if value is not None and not ENTRYPOINT_PATTERN.match(value):
                raise ValueError(f"a data type is a name or 'module.path:Class', got {value!r}")
            return value
        if value not in DATA_TYPES:
            raise ValueError(_unknown_type_message(value))
        return value

    def location(self, field: str | None = None) -> tuple[str, int | None, str]:
        """``(file, 1-based line, dotted key)`` of this entry or one of its fields."""
        key = self._key if field is None else f"{self._key}.{field}"
        line = self._lines.get(field or "", self._lines.get(""))
        return self._path, line, key

    def resolve_type(
        self,
        field: Literal["input_type", "output_type"],
        resolver: Callable[[str], object] | None = None,
    ) -> type[data_types.DataType] | None:
        """The :class:`~hoist.plugins.types.DataType` class named by ``field``.

        Args:
            field: ``"input_type"`` or ``"output_type"``.
            resolver: imports ``module:Attr`` paths (the plugin's namespace); default:
                a plain import.

        Raises:
            ConfigError: the name is unknown, does not import or is not a DataType.
        """
        value = getattr(self, field)
        path, line, key = self.location(field)
        return resolve_data_type(value, resolver, path=path, line=line, key=key)


class PluginConfig(BaseModel):
    """The whole ``config.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    code: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    version: str = "0.1.0"
    category: PluginCategory = PluginCategory.CUSTOM
    description: str = ""
    env: dict[str, Any] = Field(default_factory=dict)
    requirements: list[str] = Field(default_factory=list)
    package_manager: Literal["pip", "uv"] = "pip"
    package_manager_options: list[str] = Field(default_factory=list)
    runtime_env: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    actions: dict[str, ActionConfig] = Field(default_factory=dict)
    pipelines: dict[str, Any] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("env", "runtime_env", "actions", "pipelines", mode="before")
    @classmethod
    def _empty_mapping(cls, value: Any) -> Any:
        # ``actions:`` with nothing under it is an empty mapping, not an error.
        return {} if value is None else value

    @field_validator("requirements", "package_manager_options", "tags", mode="before")
    @classmethod
    def _empty_list(cls, value: Any) -> Any:
        return [] if value is None else value

    def attach_source(self, path: str, doc: Any = None) -> None:
        """Record the file (and the YAML tree's line numbers) each action came from."""
        actions: Any = doc.get("actions") if is_map(doc) else None
        for key, action in self.actions.items():
            action._path, action._key = path, f"actions.{key}"
            node: Any = actions.get(key) if is_map(actions) else None
            lines: dict[str, int] = {}
            if is_map(actions) and key in actions:
                lines[""] = key_line(actions, key)
            if is_map(node):
                lines.update({str(k): key_line(node, k) for k in node})
            action._lines = lines


def resolve_data_type(
    value: str | None,
    resolver: Callable[[str], object] | None = None,
    *,
    path: str = "config.yaml",
    line: int | None = None,
    key: str | None = None,
) -> type[data_types.DataType] | None:
    """Turn a data type name (``YOLODataset``) or path (``pkg.mod:Class``) into the class.

    Raises:
        ConfigError: unknown name, import failure, or not a DataType subclass.
    """
    if value is None:
        return None
    if ":" not in value:
        found = DATA_TYPES.get(value)
        if found is None:
            raise ConfigError(_unknown_type_message(value), path=path, line=line, key=key)
        return found
    if resolver is None:
        resolver = resolve_entrypoint
    try:
        obj = resolver(value)
    except ConfigError as exc:
        raise ConfigError(exc.problem, path=path, line=line, key=key) from exc
    except Exception as exc:
        problem = f"data type {value!r} does not import: {exc}"
        raise ConfigError(problem, path=path, line=line, key=key) from exc
    if not (isinstance(obj, type) and issubclass(obj, data_types.DataType)):
        problem = f"{value!r} is not a DataType subclass"
        raise ConfigError(problem, path=path, line=line, key=key)
    return obj


def _unknown_type_message(value: str) -> str:
    lowered = {name.lower(): name for name in DATA_TYPES}
    close = [lowered[value.lower()]] if value.lower() in lowered else []
    close = close or difflib.get_close_matches(value, DATA_TYPES, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    names = ", ".join(sorted(DATA_TYPES))
    return f"unknown data type {value!r}{hint}; use one of {names}, or 'module.path:Class'"


# ---------------------------------------------------------------------------- loading
def load_config(path: str | Path) -> PluginConfig:
    """Read and validate a plugin's ``config.yaml``.

    Raises:
        ConfigError: with the file, the 1-based line and the dotted key of the (first)
            problem: a YAML syntax error, a document that is not a mapping, a missing or
            unknown key, a bad value. Several problems are all listed in the message.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(file)) from exc
    return parse_config(text, str(file))


def parse_config(text: str, path: str = "config.yaml") -> PluginConfig:
    """Validate ``config.yaml`` text; ``path`` is used in error messages.

    Raises:
        ConfigError: see :func:`load_config`.
    """
    doc = read_yaml(text, path)
    if doc is None:
        raise ConfigError("the file is empty; it needs at least 'name' and 'code'", path=path)
    if not is_map(doc):
        kind = "list" if isinstance(doc, list) else type(doc).__name__
        raise ConfigError(f"expected a mapping of keys, got a {kind}", path=path, line=1)
    data = plain(doc)
    _keep_version_text(doc, data, text)
    try:
        config = PluginConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, doc, path) from None
    config.attach_source(path, doc)
    return config


def _keep_version_text(doc: Any, data: dict[str, Any], text: str) -> None:
    # ``version: 1.10`` is a float to YAML; keep what the user wrote, not ``1.1``.
    if isinstance(data.get("version"), float) and "version" in doc:
        line, col = doc.lc.value("version")
        raw = text.splitlines()[line][col:].split("#", 1)[0].strip()
        if raw:
            data["version"] = raw


def _config_error(exc: ValidationError, doc: Any, path: str) -> ConfigError:
    problems = [(_dotted(e["loc"]), line_of(doc, e["loc"]), _message(e)) for e in exc.errors()]
    key, line, first = problems[0]
    if len(problems) > 1:
        rest = "\n".join(
            f"  line {ln if ln is not None else '?'}, key '{k}': {msg}" for k, ln, msg in problems
        )
        first = f"{first}\n{len(problems)} problems in all:\n{rest}"
    return ConfigError(first, path=path, line=line, key=key or None)


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


_CHOICES: dict[str, list[str]] = {
    "method": list(get_args(Method)),
    "package_manager": ["pip", "uv"],
    "category": [c.value for c in PluginCategory],
}


def _message(err: Mapping[str, Any]) -> str:
    kind, loc = err["type"], err["loc"]
    field = str(loc[-1]) if loc else ""
    given = err.get("input")
    if kind in ("literal_error", "enum") and field in _CHOICES:
        choices = _CHOICES[field]
        close = difflib.get_close_matches(str(given), choices, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        label = field.replace("_", " ")
        return f"unknown {label} {given!r}; choose one of {', '.join(choices)}{hint}"
    if kind == "extra_forbidden":
        model = ActionConfig if len(loc) == 3 and loc[0] == "actions" else PluginConfig
        close = difflib.get_close_matches(field, list(model.model_fields), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = ", ".join(model.model_fields)
        return f"unknown key '{field}'{hint}; known keys: {known}"
    if kind == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    if kind == "string_pattern_mismatch" and field == "code":
        return (
            f"code {given!r} must be lowercase letters, digits, '_' or '-', starting with a letter"
        )
    if kind in ("model_type", "model_attributes_type") and len(loc) == 2:
        return "an action must be a mapping with at least an 'entrypoint'"
    if kind in ("dict_type", "mapping_type"):
        return "must be a mapping"
    if kind == "list_type":
        return "must be a list"
    return next(iter(field_errors_from_pydantic([err]).values()))[0]
