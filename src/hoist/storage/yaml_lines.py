"""The storage config as ruamel's round-trip tree, so errors can name a key's line.

(The plugins' ``hoist.plugins.yaml_lines`` does the same for ``config.yaml``; storage
is a lower layer and cannot import it.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hoist.errors import ConfigError

__all__ = ["Node", "line_of", "parse_yaml"]

Node = Any
"""A node of ruamel's round-trip tree (a mapping that knows its lines, a list, a scalar)."""


def parse_yaml(text: str, path: str) -> Node:
    """Parse YAML (or JSON) keeping lines.

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
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc.context}", path=path, line=line
        ) from None
    except YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from None


def line_of(doc: Node, keys: Sequence[str]) -> int | None:
    """The 1-based line of the deepest of ``keys`` present (``None``: not even the first)."""
    node, line = doc, None
    for key in keys:
        if not (isinstance(node, Mapping) and hasattr(node, "lc") and key in node):
            break
        line = int(node.lc.key(key)[0]) + 1
        node = node[key]
    return line
