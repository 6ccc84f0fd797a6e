"""The plugin release a deployment action belongs to: its folder, ``code``, ``version``
and a checksum of its files (Hoist's version of the seed's release code and checksum),
and how its code reaches Ray Serve's replicas."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["PluginRelease", "pickle_by_value", "plugin_release"]

_SKIP_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules"})
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


class PluginRelease:
    """What identifies the plugin release an action class belongs to (Hoist's version of
    the seed's release code and checksum).

    Attributes:
        root: the plugin folder (``None`` for an action that is not in one).
        code: the plugin's ``code`` (else the action's module).
        version: the plugin's ``version``.
        checksum: SHA-256 of the folder's files (names and contents).
    """

    def __init__(self, root: Path | None, code: str, version: str, checksum: str) -> None:
        self.root = root
        self.code = code
        self.version = version
        self.checksum = checksum

    @property
    def release_code(self) -> str:
        """``<code>-<version>``, usable as a Serve application and deployment name."""
        name = _NAME_CHARS.sub("-", f"{self.code}-{self.version}").strip("-.") or "plugin"
        return name[:100]


def plugin_release(cls: type) -> PluginRelease:
    """The plugin release ``cls`` (an action class) was loaded from."""
    root = _plugin_root(cls)
    config = root / "config.yaml" if root is not None else None
    if root is None or config is None or not config.is_file():
        digest = hashlib.sha256(f"{cls.__module__}:{cls.__qualname__}".encode()).hexdigest()
        return PluginRelease(root, cls.__module__.rpartition(".")[2], "0.0.0", digest)
    from hoist.plugins.config import load_config

    loaded = load_config(config)
    return PluginRelease(root, loaded.code, loaded.version, _folder_checksum(root))


def pickle_by_value(target: Any) -> None:
    """Make Ray pickle a plugin's code by value: its modules live in a Hoist namespace
    (``_hoist_plugin_...``) that Serve's replicas cannot import by name."""
    from hoist.plugins.loader import PREFIX

    top = str(getattr(target, "__module__", "")).partition(".")[0]
    module = sys.modules.get(top)
    if top.startswith(PREFIX) and module is not None:
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(module)  # type: ignore[no-untyped-call]


def _plugin_root(cls: type) -> Path | None:
    from hoist.plugins.loader import PREFIX

    top = cls.__module__.partition(".")[0]
    package = sys.modules.get(top)
    paths = list(getattr(package, "__path__", []) or [])
    if top.startswith(PREFIX) and paths:
        return Path(paths[0])
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if file is None:
        return None
    for parent in Path(file).resolve().parents:
        if (parent / "config.yaml").is_file():
            return parent
    return None


def _folder_checksum(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS for part in rel.parts) or path.suffix == ".pyc":
            continue
        if path.is_file():
            digest.update(str(rel).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
