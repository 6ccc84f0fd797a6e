"""The root of Hoist's errors, the bad-input family every layer raises, and the
mapping of pydantic's errors to field errors."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ConfigError",
    "HoistError",
    "MissingExtraError",
    "NotFoundError",
    "ParamsValidationError",
    "UserInputError",
    "field_errors_from_pydantic",
]


class HoistError(Exception):
    """Root of every error Hoist raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other arguments than ``args``: rebuild from the attributes, so
        # an error crosses process boundaries (Ray workers, pickled outcomes) intact.
        return (_rebuild_error, (type(self), self.args, self.__dict__))


def _rebuild_error(cls: type[HoistError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UserInputError(HoistError):
    """The caller gave bad input: the CLI exits 2, the API answers 4xx."""

    exit_code = 2


class ParamsValidationError(UserInputError):
    """Params (or a form) failed validation.

    Attributes:
        field_errors: field path (``a.b.0``) to the rules it broke.
    """

    def __init__(self, field_errors: Mapping[str, Sequence[str]], *, subject: str = "params"):
        self.field_errors = {k: list(v) for k, v in field_errors.items()}
        lines = [f"  {field}: {msg}" for field, msgs in self.field_errors.items() for msg in msgs]
        super().__init__(f"invalid {subject}:\n" + "\n".join(lines))


class ConfigError(UserInputError):
    """A plugin's ``config.yaml`` (or another config file) is broken.

    Attributes:
        path: the file.
        line: 1-based line of the offending key, when known.
        key: dotted path of the offending key, when known.
    """

    def __init__(
        self, problem: str, *, path: str, line: int | None = None, key: str | None = None
    ) -> None:
        self.path, self.line, self.key, self.problem = path, line, key, problem
        where = path if line is None else f"{path}:{line}"
        what = f" (key '{key}')" if key else ""
        super().__init__(f"{where}{what}: {problem}")


class NotFoundError(UserInputError):
    """A named thing does not exist; the message lists what does and the nearest match."""

    kind = "item"

    def __init__(self, name: str, available: Iterable[str] = (), *, where: str = "") -> None:
        self.name = name
        self.available = sorted(available)
        self.suggestions = difflib.get_close_matches(name, self.available, n=3, cutoff=0.5)
        msg = f"unknown {self.kind} '{name}'" + (f" in {where}" if where else "")
        if self.suggestions:
            msg += f"; did you mean '{self.suggestions[0]}'?"
        if self.available:
            msg += f" Available: {', '.join(self.available)}"
        super().__init__(msg)


class MissingExtraError(HoistError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra, self.module = extra, module
        super().__init__(
            f"'{module}' is not installed; install it with: pip install 'hoist[{extra}]'"
        )


def field_errors_from_pydantic(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Turn ``ValidationError.errors()`` into ``{field path: [messages]}``.

    Messages name the rule: ``batch_size: must be <= 1024`` rather than pydantic's
    ``Input should be less than or equal to 1024``.
    """
    out: dict[str, list[str]] = {}
    for err in errors:
        path = ".".join(str(p) for p in err.get("loc", ())) or "_global_"
        out.setdefault(path, []).append(_rule_message(err))
    return out


_RULES = {
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "string_too_short": "must have at least {min_length} characters",
    "string_too_long": "must have at most {max_length} characters",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "string_pattern_mismatch": "must match pattern {pattern}",
    "missing": "field required",
    "extra_forbidden": "unknown field",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be a boolean",
    "bool_type": "must be a boolean",
    "string_type": "must be a string",
    "enum": "must be one of {expected}",
    "literal_error": "must be one of {expected}",
    "multiple_of": "must be a multiple of {multiple_of}",
}


def _rule_message(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind in ("too_short", "too_long") and isinstance(err.get("input"), str | bytes):
        kind = f"string_{kind}"  # a constrained secret: its length is in characters
    template = _RULES.get(kind)
    ctx = err.get("ctx") or {}
    if template is not None:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError):
            pass
    return str(err.get("msg", "invalid value"))
