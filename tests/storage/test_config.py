"""The storage config file: named locations, credentials from the environment or a
file, and every broken file refused with its path, line and key (never a secret)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hoist.errors import ConfigError, NotFoundError
from hoist.settings import Settings
from hoist.storage import StorageConfig, load_storage_config, open_location
from tests.storage.conftest import BUCKET
from tests.storage.servers import S3Server


def write(tmp_path: Path, text: str, name: str = "storage.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


GOOD = """
storage:
  models:
    url: s3://team-bucket/models/
    options:
      endpoint_url: http://127.0.0.1:9000
      region: eu-west-1
    credentials:
      env: {key: MODELS_KEY, secret: MODELS_SECRET}
  shared:
    url: sftp://me@files.example.com:2222/srv/shared
    options: {key_filename: ~/.ssh/id_ed25519}
    credentials:
      file: creds/shared.yaml
  scratch:
    url: file:///tmp/scratch
"""


def test_reads_named_locations(tmp_path: Path) -> None:
    config = load_storage_config(write(tmp_path, GOOD), environ={})
    assert sorted(config.locations) == ["models", "scratch", "shared"]
    models = config.locations["models"]
    assert models.url == "s3://team-bucket/models"
    assert models.options == {"endpoint_url": "http://127.0.0.1:9000", "region": "eu-west-1"}
    assert models.credentials_env == {"key": "MODELS_KEY", "secret": "MODELS_SECRET"}
    assert (models.config_path, models.config_line) == (str(tmp_path / "storage.yaml"), 2)
    assert config.locations["shared"].credentials_file == tmp_path / "creds" / "shared.yaml"
    shared = open_location("scratch", config=config)
    assert (shared.name, shared.url) == ("scratch", "file:///tmp/scratch")


def test_credentials_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    config = load_storage_config(
        write(tmp_path, GOOD), environ={"MODELS_KEY": "AKIA-id", "MODELS_SECRET": "s3cr3t-value"}
    )
    assert config.locations["models"].credentials(config.environ) == {
        "key": "AKIA-id",
        "secret": "s3cr3t-value",
    }
    write(tmp_path, "password: pw-from-file-123\npassphrase: phrase-456\n", "creds/shared.yaml")
    assert config.locations["shared"].credentials({}) == {
        "password": "pw-from-file-123",
        "passphrase": "phrase-456",
    }
    assert "s3cr3t" not in repr(config) and "pw-from-file" not in repr(config)


def test_settings_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, "elsewhere.yaml")
    settings = Settings(home=tmp_path / "home", storage_config=path)
    assert sorted(load_storage_config(settings=settings).locations) == [
        "models",
        "scratch",
        "shared",
    ]
    assert load_storage_config(settings=Settings(home=tmp_path / "empty")).locations == {}
    missing = Settings(home=tmp_path, storage_config=tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"absent\.yaml: cannot read the storage config"):
        load_storage_config(settings=missing)


def test_the_default_file_is_in_hoist_home(hoist_home: Path) -> None:
    hoist_home.mkdir(parents=True, exist_ok=True)
    write(hoist_home, "storage:\n  here: {url: 'file:///srv/here'}\n")
    assert open_location("here").url == "file:///srv/here"


@pytest.mark.parametrize(
    ("text", "line", "key", "problem"),
    [
        ("storage:\n  a: {url: s3://b\n", 3, None, "invalid YAML"),
        ("storage:\n  m:\n    url: s3://b\n    url: s3://c\n", 4, None, "invalid YAML"),
        ("storge:\n  a: {url: 's3://b'}\n", 1, "storge", "unknown key 'storge'"),
        ("storage: [1, 2]\n", 1, "storage", "must map names to locations"),
        ("storage:\n  m: s3://b\n", 2, "storage.m", "a location is a mapping"),
        ("storage:\n  m:\n    url: s3://b\n    option: {}\n", 4, "storage.m.option", "unknown key"),
        ("storage:\n  m:\n    options: {}\n", 2, "storage.m.url", "'url' must be a URL"),
        (
            "storage:\n  m:\n    url: ftp://h/x\n",
            3,
            "storage.m.url",
            "no storage provider for 'ftp://'",
        ),
        ("storage:\n  m:\n    url: s3:///x\n", 3, "storage.m.url", "names no bucket"),
        ("storage:\n  bad name:\n    url: s3://b\n", 2, "storage.bad name", "letters, digits"),
        (
            "storage:\n  m:\n    url: s3://b\n    options:\n      secret: hunter2-inline\n",
            5,
            "storage.m.options.secret",
            "a secret in the config file",
        ),
        (
            "storage:\n  m:\n    url: sftp://u:hunter2-inline@h/x\n",
            3,
            "storage.m.url",
            "a password in the URL",
        ),
        (
            "storage:\n  m:\n    url: s3://b\n    credentials: {env: [A]}\n",
            4,
            "storage.m.credentials.env",
            "maps option names to environment variable names",
        ),
        (
            "storage:\n  m:\n    url: s3://b\n    credentials: {vault: x}\n",
            4,
            "storage.m.credentials",
            "{env: {option: VARIABLE}} or {file: path}",
        ),
    ],
)
def test_a_broken_file_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_storage_config(path)
    error = caught.value
    assert (error.path, error.line, error.key) == (str(path), line, key)
    assert problem in error.problem
    assert str(error).startswith(f"{path}:{line}")
    assert "hunter2-inline" not in str(error)


def test_a_missing_credential_variable_is_named_when_used(tmp_path: Path) -> None:
    config = load_storage_config(write(tmp_path, GOOD), environ={"MODELS_KEY": "id-only"})
    with pytest.raises(ConfigError) as caught:
        open_location("models", config=config)
    error = caught.value
    assert (error.line, error.key) == (2, "storage.models.credentials.env.secret")
    assert "MODELS_SECRET is not set" in str(error)
    assert "id-only" not in str(error)


def test_a_broken_credentials_file_is_never_quoted(tmp_path: Path) -> None:
    config = load_storage_config(write(tmp_path, GOOD), environ={})
    shared = config.locations["shared"]
    with pytest.raises(ConfigError, match=r"cannot read the credentials file"):
        shared.credentials({})
    write(tmp_path, "password: [unclosed-secret-xyz\n", "creds/shared.yaml")
    with pytest.raises(ConfigError) as caught:
        shared.credentials({})
    assert caught.value.key == "storage.shared.credentials.file"
    assert "unclosed-secret-xyz" not in str(caught.value)
    write(tmp_path, "- just-a-list-secret\n", "creds/shared.yaml")
    with pytest.raises(ConfigError, match=r"must map option -> value") as caught:
        shared.credentials({})
    assert "just-a-list-secret" not in str(caught.value)


def test_names_urls_and_paths(tmp_path: Path) -> None:
    config = load_storage_config(write(tmp_path, GOOD), environ={})
    with pytest.raises(
        NotFoundError, match=r"unknown storage location 'model' in .*; did you mean 'models'"
    ):
        open_location("model", config=config)
    local = open_location(str(tmp_path / "new-folder"), config=config)
    assert local.url == f"file://{tmp_path}/new-folder"
    assert open_location(tmp_path, config=config).url == f"file://{tmp_path}"
    assert open_location("plain", config=StorageConfig()).url.endswith("/plain")


def test_a_url_below_a_named_location_uses_its_credentials(
    s3_server: S3Server, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        f"""
        storage:
          team:
            url: s3://{BUCKET}/team
            options: {{endpoint_url: "{s3_server.endpoint}"}}
            credentials:
              env: {{key: TEAM_KEY, secret: TEAM_SECRET}}
        """,
    )
    environ = {"TEAM_KEY": s3_server.key, "TEAM_SECRET": s3_server.secret}
    config = load_storage_config(path, environ=environ)
    below = open_location(f"s3://{BUCKET}/team/run-7/artifacts", config=config)
    assert below.name == f"s3://{BUCKET}/team/run-7/artifacts"
    below.write_bytes("metrics.json", b"{}")
    assert open_location("team", config=config).read_bytes("run-7/artifacts/metrics.json") == b"{}"
