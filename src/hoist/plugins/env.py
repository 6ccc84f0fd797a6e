"""``PluginEnvironment``: typed access to a plugin's settings from the environment or a file."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from hoist.errors import ConfigError

__all__ = ["PluginEnvironment"]

_T = TypeVar("_T")
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})


class PluginEnvironment(Mapping[str, Any]):
    """An immutable mapping of setting names to values, with typed getters.

    Args:
        values: the settings.
        source: where they came from (shown in errors).
    """

    def __init__(self, values: Mapping[str, Any] | None = None, *, source: str = "env") -> None:
        self._values = dict(values or {})
        self.source = source

    @classmethod
    def from_environ(
        cls, prefix: str = "", environ: Mapping[str, str] | None = None
    ) -> PluginEnvironment:
        """Variables whose names start with ``prefix``, with the prefix removed."""
        env = os.environ if environ is None else environ
        values = {k[len(prefix) :]: v for k, v in env.items() if k.startswith(prefix)}
        return cls(values, source=f"environment ({prefix}*)" if prefix else "environment")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PluginEnvironment:
        """Settings from a TOML file; nested tables become dotted keys (``db.host``).

        Raises:
            ConfigError: the file is missing or is not valid TOML (with its line).
        """
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text())
        except FileNotFoundError:
            raise ConfigError("file not found", path=str(file)) from None
        except tomllib.TOMLDecodeError as exc:
            # Python < 3.14 has no .lineno; the message ends "(at line N, column M)".
            found = re.search(r"at line (\d+)", str(exc))
            line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
            raise ConfigError(f"invalid TOML: {exc}", path=str(file), line=line) from exc
        return cls(_flatten(data), source=str(file))

    def merge(self, *others: Mapping[str, Any]) -> PluginEnvironment:
        """A new environment; later mappings override earlier ones."""
        values = dict(self._values)
        for other in others:
            values.update(other)
        return PluginEnvironment(values, source=self.source)

    # Mapping ----------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PluginEnvironment({sorted(self._values)}, source={self.source!r})"

    def to_dict(self) -> dict[str, Any]:
        """A plain copy of the settings."""
        return dict(self._values)

    # typed getters ----------------------------------------------------------------
    def get_str(
        self, key: str, default: str | None = None, *, required: bool = False
    ) -> str | None:
        """The value as text; ``default`` (``None`` unless given) when missing.

        Every getter takes ``required=True`` to raise :class:`ConfigError` for a
        missing key instead of returning the default.
        """
        value = self._lookup(key, default, required)
        return value if value is None or value is default else str(value)

    def get_int(
        self, key: str, default: int | None = None, *, required: bool = False
    ) -> int | None:
        """The value as an integer."""
        return self._convert(key, default, required, int, "an integer")

    def get_float(
        self, key: str, default: float | None = None, *, required: bool = False
    ) -> float | None:
        """The value as a float."""
        return self._convert(key, default, required, float, "a number")

    def get_bool(
        self, key: str, default: bool | None = None, *, required: bool = False
    ) -> bool | None:
        """The value as a bool (``1/0``, ``true/false``, ``yes/no``, ``on/off``)."""
        value = self._lookup(key, default, required)
        if value is default or isinstance(value, bool) or value is None:
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"must be a boolean, got {value!r}", path=self.source, key=key)

    def get_list(
        self,
        key: str,
        default: list[str] | None = None,
        *,
        sep: str = ",",
        required: bool = False,
    ) -> list[Any] | None:
        """The value as a list: a list as is, text split on ``sep`` (blanks dropped)."""
        value = self._lookup(key, default, required)
        if value is default or value is None:
            return value
        if isinstance(value, list | tuple):
            return list(value)
        return [part.strip() for part in str(value).split(sep) if part.strip()]

    def _lookup(self, key: str, default: Any, required: bool) -> Any:
        if key in self._values:
            return self._values[key]
        if required:
            raise ConfigError("required setting is missing", path=self.source, key=key)
        return default

    def _convert(
        self, key: str, default: Any, required: bool, kind: type[_T], what: str
    ) -> _T | None:
        value = self._lookup(key, default, required)
        if value is default or value is None:
            return value
        try:
            return kind(value)  # type: ignore[call-arg]
        except (TypeError, ValueError):
            raise ConfigError(f"must be {what}, got {value!r}", path=self.source, key=key) from None


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
