"""Seed snippets name their plugin as an importable module (``plugin_code='my_plugin'``)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def importable_package(parent: Path, name: str, files: dict[str, str]) -> Iterator[Path]:
    """Write package ``name`` (``{file: source}``, dedented) under ``parent`` and make it
    importable for the block; its modules are forgotten afterwards."""
    package = parent / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for file, text in files.items():
        (package / file).write_text(textwrap.dedent(text))
    sys.path.insert(0, str(parent))
    try:
        yield package
    finally:
        sys.path.remove(str(parent))
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]
