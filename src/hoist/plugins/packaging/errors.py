"""The errors of plugin packages (defined in :mod:`hoist.errors`; bad input all of them,
the CLI exits 2)::

    UserInputError
    ├── PackagingError          .path (a plugin that cannot be packaged)
    ├── IgnoreFileError         a ConfigError: .path, .line (a broken .hoistignore pattern)
    ├── UnsafeArchiveError      .archive, .member, .reason (an entry would leave the target)
    ├── VersionExistsError      .code, .version, .location (published already; --force)
    ├── PluginExistsError       .path (installed already; --force)
    └── ChecksumMismatchError   .source, .expected, .actual (nothing kept)
"""

from __future__ import annotations

from hoist.errors import (
    ChecksumMismatchError,
    IgnoreFileError,
    PackagingError,
    PluginExistsError,
    UnsafeArchiveError,
    VersionExistsError,
)

__all__ = [
    "ChecksumMismatchError",
    "IgnoreFileError",
    "PackagingError",
    "PluginExistsError",
    "UnsafeArchiveError",
    "VersionExistsError",
]
