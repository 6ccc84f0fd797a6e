"""``config.yaml`` as ruamel's round-trip tree, and the one lookup of the line a key sits
on: every error about a config file (the plugin's schema, its pipelines) names the line
through :func:`line_of`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hoist.errors import ConfigError

__all__ = ["file_line_of", "is_map", "key_line", "line_of", "plain", "read_yaml"]


def read_yaml(text: str, path: str = "config.yaml") -> Any:
    """Parse YAML text with ruamel's round-trip loader (comments and line numbers kept).

    Raises:
        ConfigError: a syntax error, with its 1-based line.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = f"invalid YAML: {exc.problem or exc.context}"
        if exc.context and exc.context_mark is not None and exc.problem:
            problem += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        raise ConfigError(problem, path=path, line=line) from None
    except YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from None


def plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain Python data (dict, list, str, int, ...)."""
    if isinstance(node, Mapping):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    for kind in (str, int, float):
        if isinstance(node, kind):
            return kind(node)
    return node


def is_map(node: Any) -> bool:
    """True for a mapping of the round-trip tree (one that knows its lines)."""
    return isinstance(node, Mapping) and hasattr(node, "lc")


def key_line(mapping: Any, key: Any) -> int:
    """The 1-based line of ``key`` in a mapping of the round-trip tree."""
    return int(mapping.lc.key(key)[0]) + 1


def line_of(doc: Any, loc: Sequence[int | str]) -> int | None:
    """1-based line of the deepest key of ``loc`` present in the tree (``None`` if not
    even the first is). List indexes may be given as ints or as digit strings, so a
    dotted key (``pipelines.train.actions.0``) split on dots works as well."""
    node: Any = doc
    line = None
    for part in loc:
        if is_map(node) and part in node:
            line = key_line(node, part)
            node = node[part]
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            seq: Any = node  # a CommentedSeq: it has line info
            line = int(seq.lc.item(int(part))[0]) + 1
            node = seq[int(part)]
        else:
            break
    return line


def file_line_of(path: str | Path, dotted: str) -> int | None:
    """The line of a dotted key in a YAML file (a folder means its ``config.yaml``);
    ``None`` when the file cannot be read or the key is not there."""
    file = Path(path)
    if file.is_dir():
        file = file / "config.yaml"
    try:
        doc = read_yaml(file.read_text(encoding="utf-8"), str(file))
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    return line_of(doc, dotted.split("."))
