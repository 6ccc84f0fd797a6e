"""Errors of plugin packages: bad input all of them (the CLI exits 2)."""

from __future__ import annotations

from hoist.errors.base import ConfigError, UserInputError

__all__ = [
    "IgnoreFileError",
    "PackagingError",
    "PluginExistsError",
    "UnsafeArchiveError",
    "VersionExistsError",
]


class PackagingError(UserInputError):
    """A plugin (or an archive) is not what a package needs.

    Attributes:
        path: the plugin folder or archive.
        problem: what is wrong.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class IgnoreFileError(ConfigError):
    """A ``.hoistignore`` line is not a valid gitignore pattern (file and line named)."""


class UnsafeArchiveError(UserInputError):
    """An archive entry would leave the target folder, or is not a plain file or folder;
    nothing was written.

    Attributes:
        archive: the archive.
        member: the entry's name.
        reason: why it is refused.
    """

    def __init__(self, archive: str, member: str, reason: str) -> None:
        self.archive, self.member, self.reason = archive, member, reason
        super().__init__(f"{archive}: entry {member!r} refused ({reason}); nothing written")


class VersionExistsError(UserInputError):
    """This plugin version is published at the location already.

    Attributes:
        code, version: the plugin version.
        location: the storage location's name.
    """

    def __init__(self, code: str, version: str, location: str) -> None:
        self.code, self.version, self.location = code, version, location
        super().__init__(
            f"{code} {version} is published at {location} already; publish a new version, "
            "or use --force to replace it"
        )


class PluginExistsError(UserInputError):
    """A plugin folder is in the way of an install.

    Attributes:
        path: the folder.
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(f"{path} exists ({detail}); use --force to replace it")
