"""Plugin test helpers: write plugin folders into tmp_path, and leave no imports behind."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hoist.plugins.loader import PREFIX, unload_all
from hoist.runs.runtime import reset_runtime

WritePlugin = Callable[..., Path]


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: source}`` (dedented) under ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def write_plugin(tmp_path: Path) -> WritePlugin:
    """``write_plugin("name", {"config.yaml": ..., "plugin/actions.py": ...})``."""

    def write(name: str, files: dict[str, str]) -> Path:
        return write_files(tmp_path / name, files)

    return write


@pytest.fixture(autouse=True)
def no_leftover_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test ends with no plugin namespaces and no modules imported from tmp dirs."""
    meta_path, path = list(sys.meta_path), list(sys.path)
    temp = str(tmp_path_factory.getbasetemp())
    yield
    reset_runtime()  # the plugin registry ends with the runtime that owns it
    unload_all()  # namespaces a test made itself
    for name, module in list(sys.modules.items()):
        if name.startswith(PREFIX) or str(getattr(module, "__file__", "")).startswith(temp):
            del sys.modules[name]
    sys.meta_path[:] = meta_path
    sys.path[:] = path
    assert not [m for m in sys.modules if m.startswith(PREFIX)]
