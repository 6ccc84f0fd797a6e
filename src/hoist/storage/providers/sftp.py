"""``sftp://user@host:port/path``: a folder on an SSH server, through fsspec's
``SFTPFileSystem`` (paramiko)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from hoist.errors import StoragePermissionError, StorageUnreachableError
from hoist.storage.providers.base import Classified, Provider, Target, named_in_chain
from hoist.storage.secrets import split_userinfo

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

__all__ = ["SFTPProvider"]

_TIMEOUTS = {"timeout": 10.0, "banner_timeout": 10.0, "auth_timeout": 10.0}


class SFTPProvider(Provider):
    """SFTP through ``fsspec.implementations.sftp.SFTPFileSystem``.

    Options (paramiko's ``SSHClient.connect``): ``username``, ``port``, ``key_filename``
    (a private key file), ``password`` and ``passphrase`` (give them as credentials),
    ``timeout`` (10 s), ``look_for_keys``, ``allow_agent``, and ``host_key_policy``
    (``auto_add``, the default, ``warning`` or ``reject``).
    """

    schemes = ("sftp", "ssh")
    module = "paramiko"
    has_directories = True
    appendable = True

    def parse(self, url: str) -> Target:
        """``sftp://user[:password]@host[:port]/abs/path``; the password becomes a secret
        option and leaves the URL."""
        clean, user, password = split_userinfo(url)
        parts = urlsplit(clean)
        if not parts.hostname:
            raise ValueError("an sftp URL needs a host (sftp://user@host:port/path)")
        root = "/" + unquote(parts.path).strip("/")
        url_options: dict[str, Any] = {"host": parts.hostname}
        if parts.port:
            url_options["port"] = parts.port
        if user:
            url_options["username"] = unquote(user)
        if password is not None:
            url_options["password"] = unquote(password)
        netloc = parts.netloc
        return Target(
            scheme="sftp", root=root, url=f"sftp://{netloc}{root}", url_options=url_options
        )

    def filesystem(self, target: Target, options: Mapping[str, Any]) -> AbstractFileSystem:
        """A connected ``SFTPFileSystem`` (connecting is when an unreachable host or
        refused key shows)."""
        self.library()
        from fsspec.implementations.sftp import SFTPFileSystem  # type: ignore[import-untyped]

        kwargs = {**_TIMEOUTS, **options}
        host = kwargs.pop("host")
        if "port" in kwargs:
            kwargs["port"] = int(kwargs["port"])
        fs: AbstractFileSystem = SFTPFileSystem(host, **kwargs)
        return fs

    def url_of(self, target: Target, fs_path: str) -> str:
        """``sftp://user@host:port`` and the absolute path."""
        netloc = urlsplit(target.url).netloc
        return f"sftp://{netloc}{fs_path}"

    def classify(self, exc: BaseException, target: Target) -> Classified | None:
        """paramiko's refused authentication and failed connections."""
        if named_in_chain(
            exc, "AuthenticationException", "BadAuthenticationType", "PasswordRequiredException"
        ):
            return StoragePermissionError, "authentication failed (wrong user, key or password)"
        if named_in_chain(exc, "NoValidConnectionsError", "gaierror", "TimeoutError"):
            return StorageUnreachableError, "unreachable: could not connect to the SSH server"
        ssh = named_in_chain(exc, "SSHException")
        if ssh is not None and ("banner" in str(ssh) or "closed" in str(ssh).lower()):
            return StorageUnreachableError, f"unreachable: {ssh}"
        return None
