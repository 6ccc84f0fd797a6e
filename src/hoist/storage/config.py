"""Named storage locations, configured once in a YAML file::

    storage:
      models:
        url: s3://team-bucket/models
        options: {endpoint_url: "https://s3.example.com", region: eu-west-1}
        credentials:
          env: {key: MODELS_KEY_ID, secret: MODELS_SECRET}   # option -> variable
      shared:
        url: sftp://me@files.example.com:22/srv/shared
        options: {key_filename: ~/.ssh/id_ed25519}
        credentials:
          file: shared-credentials.yaml                   # option -> value, mode 0600

Secrets never sit in the file itself: an option named like one (``secret``, ``password``,
``token``, ``key``) is refused there, and a password in a URL too. Every error names the
file, the line and the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist._yaml_lines import line_of, plain, read_yaml
from hoist.errors import ConfigError
from hoist.settings import Settings
from hoist.storage.providers import PROVIDERS, Provider, Target
from hoist.storage.secrets import is_secret_name, split_userinfo

__all__ = ["LocationConfig", "StorageConfig", "load_storage_config"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_LOCATION_KEYS = frozenset({"url", "options", "credentials"})


@dataclass(frozen=True)
class LocationConfig:
    """One named location of the config file.

    Attributes:
        name: the name actions and settings use (``models``).
        url: the root URL (no credentials in it).
        options: provider options (endpoint, region, port, key file, ...; no secrets).
        credentials_env: option name -> environment variable holding its value.
        credentials_file: a YAML/JSON file of option -> value (a GCS key file as is).
        config_path: the config file it was read from (for error messages).
        config_line: the line of its name in that file.
    """

    name: str
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    credentials_env: Mapping[str, str] = field(default_factory=dict)
    credentials_file: Path | None = None
    config_path: str = ""
    config_line: int | None = None

    @property
    def provider(self) -> Provider:
        """The provider of the URL's scheme."""
        return PROVIDERS[self.url.split("://", 1)[0].lower()]

    @property
    def target(self) -> Target:
        """The URL parsed by its provider."""
        return self.provider.parse(self.url)

    def credentials(self, environ: Mapping[str, str]) -> dict[str, Any]:
        """The secret options, read now from the environment or the credentials file.

        Raises:
            ConfigError: a variable is not set, or the file cannot be read (never
                quoting a value).
        """
        values: dict[str, Any] = {}
        for option, variable in self.credentials_env.items():
            if not environ.get(variable):
                raise ConfigError(
                    f"environment variable {variable} is not set (credential '{option}')",
                    path=self.config_path,
                    line=self.config_line,
                    key=f"storage.{self.name}.credentials.env.{option}",
                )
            values[option] = environ[variable]
        if self.credentials_file is not None:
            values.update(self.provider.credentials_from_file(_read_credentials(self)))
        return values


@dataclass(frozen=True)
class StorageConfig:
    """The configured locations (empty when there is no config file).

    Attributes:
        locations: name -> :class:`LocationConfig`.
        path: the file they were read from, if any.
        environ: where ``credentials: {env: ...}`` variables are read (``os.environ``).
    """

    locations: Mapping[str, LocationConfig] = field(default_factory=dict)
    path: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)

    def credential_environ(self) -> dict[str, str]:
        """The credential variables the locations name (``credentials: {env: ...}``)
        with their values, those set: what a worker in another process needs."""
        names = {
            v for location in self.locations.values() for v in location.credentials_env.values()
        }
        return {name: self.environ[name] for name in sorted(names) if self.environ.get(name)}

    def covering(self, url: str) -> LocationConfig | None:
        """The configured location whose URL is ``url`` or a parent of it (the longest),
        so an ad-hoc URL below ``models`` gets the options and credentials of ``models``."""
        best: LocationConfig | None = None
        for location in self.locations.values():
            root = location.url.rstrip("/")
            if (url == root or url.startswith(root + "/")) and (
                best is None or len(root) > len(best.url)
            ):
                best = location
        return best


def load_storage_config(
    path: Path | None = None,
    *,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
) -> StorageConfig:
    """Read the storage config: ``path``, else the settings' ``storage_config`` (which
    must exist), else ``<home>/storage.yaml`` when it exists, else an empty config.

    Raises:
        ConfigError: the file is missing (when named), not YAML, or breaks a rule; the
            error names the file, the line and the key.
    """
    environ = os.environ if environ is None else environ
    if path is None:
        settings = settings or Settings.from_env()
        path = settings.storage_config_path
        if settings.storage_config is None and not path.exists():
            return StorageConfig(environ=environ)
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the storage config: {exc}", path=str(path)) from None
    doc = read_yaml(text, str(path))
    return StorageConfig(_locations(doc, path), path=path, environ=environ)


def _locations(doc: Any, path: Path) -> dict[str, LocationConfig]:
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise ConfigError("expected a mapping with a 'storage' key", path=str(path), line=1)
    for key in doc:
        if key != "storage":
            problem = f"unknown key '{key}' (the file holds 'storage:')"
            raise ConfigError(problem, path=str(path), line=line_of(doc, [key]), key=str(key))
    section = doc.get("storage") or {}
    if not isinstance(section, Mapping):
        problem = "'storage' must map names to locations"
        raise ConfigError(problem, path=str(path), line=line_of(doc, ["storage"]), key="storage")
    return {str(name): _location(doc, str(name), path) for name in section}


def _location(doc: Any, name: str, path: Path) -> LocationConfig:
    def fail(problem: str, *keys: str) -> ConfigError:
        line = line_of(doc, ["storage", name, *keys])
        return ConfigError(
            problem, path=str(path), line=line, key=".".join(["storage", name, *keys])
        )

    body = doc["storage"][name]
    if not _NAME.match(name):
        raise fail("a location name is letters, digits, '_', '.' and '-'")
    if not isinstance(body, Mapping):
        raise fail("a location is a mapping with 'url' (and 'options', 'credentials')")
    for key in body:
        if key not in _LOCATION_KEYS:
            raise fail(f"unknown key (expected {', '.join(sorted(_LOCATION_KEYS))})", str(key))
    url = body.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise fail("'url' must be a URL such as s3://bucket/prefix or file:///data", "url")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in PROVIDERS:
        known = ", ".join(f"{s}://" for s in sorted(PROVIDERS))
        raise fail(f"no storage provider for '{scheme}://' (known: {known})", "url")
    if split_userinfo(url)[2] is not None:
        raise fail("a password in the URL; give it as a credential (env or file)", "url")
    try:
        target = PROVIDERS[scheme].parse(url)
    except ValueError as exc:
        raise fail(str(exc), "url") from None
    options = plain(body.get("options") or {})
    if not isinstance(options, dict):
        raise fail("'options' must be a mapping of option -> value", "options")
    for key in _secret_keys(options):
        raise fail(
            "a secret in the config file; give it with credentials (env or file)",
            "options",
            *key.split("."),
        )
    env, file = _credentials(body.get("credentials"), fail)
    if file is not None and not file.is_absolute():
        file = path.parent / file
    return LocationConfig(
        name=name,
        url=target.url,
        options=options,
        credentials_env=env,
        credentials_file=file,
        config_path=str(path),
        config_line=line_of(doc, ["storage", name]),
    )


def _credentials(node: Any, fail: Any) -> tuple[dict[str, str], Path | None]:
    if node is None:
        return {}, None
    if not isinstance(node, Mapping) or not node or set(node) - {"env", "file"}:
        raise fail("'credentials' is {env: {option: VARIABLE}} or {file: path}", "credentials")
    env = plain(node.get("env") or {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise fail("'env' maps option names to environment variable names", "credentials", "env")
    file = node.get("file")
    if file is not None and not isinstance(file, str):
        raise fail("'file' is the path of a credentials file", "credentials", "file")
    return env, Path(file).expanduser() if file else None


def _read_credentials(location: LocationConfig) -> Mapping[str, Any]:
    """The credentials file as a mapping; errors name it but never quote it."""
    file = location.credentials_file
    assert file is not None
    key = f"storage.{location.name}.credentials.file"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot read the credentials file ({type(exc).__name__})"
        raise ConfigError(problem, path=str(file), key=key) from None
    try:
        data = plain(read_yaml(text, str(file)))
    except ConfigError as exc:
        problem = "the credentials file is not valid YAML or JSON"
        raise ConfigError(problem, path=str(file), line=exc.line, key=key) from None
    if not isinstance(data, dict):
        raise ConfigError("the credentials file must map option -> value", path=str(file), key=key)
    return data


def _secret_keys(options: Mapping[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, value in options.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found += _secret_keys(value, dotted + ".")
        elif is_secret_name(str(key)) and value not in (None, False, "", "anon"):
            found.append(dotted)
    return found
