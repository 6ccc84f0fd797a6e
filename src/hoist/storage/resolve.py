"""From what a user writes (a configured name, a URL, a local path) to a
:class:`StorageLocation` with its provider, options and credentials."""

from __future__ import annotations

import os
from pathlib import Path

from hoist.errors import StorageError, StorageLocationNotFoundError
from hoist.storage.config import StorageConfig, load_storage_config
from hoist.storage.location import StorageLocation
from hoist.storage.providers import provider_for
from hoist.storage.secrets import is_secret_name, redact_url

__all__ = ["open_location"]


def open_location(
    target: str | os.PathLike[str], *, config: StorageConfig | None = None
) -> StorageLocation:
    """The location ``target`` names: a configured name (``models``), a URL
    (``s3://bucket/prefix``, ``sftp://user@host:port/path``, ``gs://``, ``http(s)://``,
    ``file://``) or a local path. A URL below a configured location uses that location's
    options and credentials. Nothing is contacted until the first operation.

    Raises:
        StorageError: an unknown scheme or a malformed URL.
        ConfigError: the config file is broken, or a credential variable is not set.
        StorageLocationNotFoundError: a bare name that is neither configured nor an existing path.
    """
    config = load_storage_config() if config is None else config
    if isinstance(target, os.PathLike):
        return _local(Path(target))
    text = str(target)
    configured = config.locations.get(text)
    if configured is not None:
        url, name = configured.url, configured.name
    elif "://" in text:
        url, name = text, ""
    else:
        bare = "/" not in text and os.sep not in text and not Path(text).exists()
        if bare and config.locations:
            where = str(config.path) if config.path else ""
            raise StorageLocationNotFoundError(text, config.locations, where=where)
        return _local(Path(text))
    scheme = url.split("://", 1)[0]
    provider = provider_for(scheme, url=redact_url(url))
    try:
        parsed = provider.parse(url)
    except ValueError as exc:
        raise StorageError(f"invalid URL: {exc}", location=redact_url(url)) from None
    covering = configured or config.covering(parsed.url)
    options, secrets = {}, [str(v) for k, v in parsed.url_options.items() if is_secret_name(k)]
    if covering is not None:
        credentials = covering.credentials(config.environ)
        options = {**covering.options, **credentials}
        secrets += _secret_values(credentials)
    return StorageLocation(name or parsed.url, provider, parsed, options, secrets=secrets)


def _local(path: Path) -> StorageLocation:
    provider = provider_for("file", url=str(path))
    target = provider.parse(Path(path).expanduser().resolve().as_uri())
    return StorageLocation(target.url, provider, target)


def _secret_values(values: object) -> list[str]:
    """Every scalar of the credentials: all of them are secret, whatever their names."""
    if isinstance(values, dict):
        return [s for v in values.values() for s in _secret_values(v)]
    if isinstance(values, list | tuple):
        return [s for v in values for s in _secret_values(v)]
    return [str(values)] if isinstance(values, str | int) and not isinstance(values, bool) else []
