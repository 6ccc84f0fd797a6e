"""``file://``: a folder on this machine (or a mounted share)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from hoist.storage.providers.base import Provider, Target

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

__all__ = ["LocalProvider"]


class LocalProvider(Provider):
    """A local folder through fsspec's ``LocalFileSystem``; no options, no credentials."""

    schemes = ("file",)
    server_side_copy = True
    has_directories = True
    appendable = True

    def parse(self, url: str) -> Target:
        """``file:///abs/dir`` (or ``file://localhost/abs/dir``) to its absolute root."""
        parts = urlsplit(url)
        root = Path(unquote(parts.path) or "/").expanduser().resolve().as_posix()
        return Target(scheme="file", root=root, url=f"file://{root}")

    def filesystem(self, target: Target, options: Mapping[str, Any]) -> AbstractFileSystem:
        """fsspec's local filesystem (it makes parent folders on write)."""
        from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

        return LocalFileSystem(auto_mkdir=True)
