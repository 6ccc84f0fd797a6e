"""Parse params given on the command line: ``-p key=value``, ``--params JSON|@file``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hoist.errors import ParamsValidationError

__all__ = ["log_level_option", "output_options", "params_options", "parse_params"]

F = TypeVar("F", bound=Callable[..., Any])


def params_options(fn: F) -> F:
    """``-p KEY=VALUE`` (repeatable) and ``--params JSON|@FILE`` as ``pairs`` and ``raw``."""
    fn = click.option("--params", "raw", metavar="JSON|@FILE",
                      help="All params as JSON or @file.json.")(fn)  # fmt: skip
    return click.option("-p", "--param", "pairs", multiple=True, metavar="KEY=VALUE",
                        help="One param (repeatable).")(fn)  # fmt: skip


def output_options(fn: F) -> F:
    """``--json`` (the run record, no live display) and ``--quiet``/``-q``."""
    fn = click.option("--quiet", "-q", is_flag=True,
                      help="No live display; print only the result.")(fn)  # fmt: skip
    return click.option("--json", "as_json", is_flag=True,
                        help="Print the run as JSON, no live display.")(fn)  # fmt: skip


log_level_option = click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="uvicorn's log level.",
)
"""``--log-level`` of the commands that run a uvicorn server (``serve``, ``service run``)."""


def parse_params(pairs: tuple[str, ...] | list[str], raw: str | None) -> dict[str, Any]:
    """Merge ``--params`` (JSON text or ``@file.json``) with ``-p key=value`` pairs.

    Values of ``-p`` stay text, and the params model converts them (``"3"`` to an int
    field becomes 3), so a text field given ``123`` keeps ``"123"``. Values that look like
    JSON lists or objects (``[1, 2]``, ``{"a": 1}``) and ``null`` are parsed as JSON.
    Dotted keys (``optimizer.lr=0.1``) build nested objects. Pairs override ``--params``.

    Raises:
        ParamsValidationError: unreadable JSON, a missing file, or a pair without ``=``.
    """
    params: dict[str, Any] = {}
    if raw:
        params = _load_raw(raw)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParamsValidationError({key or pair: [f"expected key=value, got {pair!r}"]})
        _set_path(params, key.strip().split("."), _coerce(value))
    return params


def _load_raw(raw: str) -> dict[str, Any]:
    source = "--params"
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:]).expanduser()
        source = str(path)
        try:
            text = path.read_text()
        except OSError as exc:
            message = f"cannot read {path}: {exc.strerror}"
            raise ParamsValidationError({"--params": [message]}) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON in {source} at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise ParamsValidationError({"--params": [msg]}) from None
    if not isinstance(data, dict):
        raise ParamsValidationError({"--params": [f"{source} must hold a JSON object"]})
    return data


def _coerce(value: str) -> Any:
    text = value.strip()
    if text == "null" or text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value


def _set_path(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        nested = target.get(key)
        if not isinstance(nested, dict):
            nested = target[key] = {}
        target = nested
    target[keys[-1]] = value
