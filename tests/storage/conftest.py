"""Session-wide real storage servers (moto's S3, OpenSSH's sshd, an HTTP server), started
once on free loopback ports and stopped at the end; other test folders may use them too
(import the fixtures from here in their conftest). Each skips locally, and fails under
``CI=true``, when its server cannot run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoist.storage import LocationConfig, StorageConfig, StorageLocation, open_location
from tests.conftest import need
from tests.storage.servers import (
    HTTPServerHandle,
    S3Server,
    SSHServer,
    moto_missing,
    sshd_missing,
    start_http,
    start_moto,
    start_sshd,
)

BUCKET = "hoist-tests"
KEY_VAR, SECRET_VAR = "HOIST_TEST_S3_KEY", "HOIST_TEST_S3_SECRET"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server checking credentials (an IAM user's keys), with ``BUCKET``."""
    if (why := moto_missing()) is not None:
        need(why)
    server = start_moto(auth=True)
    server.make_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """A real OpenSSH sshd with a throwaway host key and user key."""
    if (why := sshd_missing()) is not None:
        need(why)
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HTTPServerHandle]:
    """An HTTP server over a temporary folder (``/private/`` needs its token)."""
    server = start_http(tmp_path_factory.mktemp("http-root"))
    yield server
    server.stop()


def s3_config(server: S3Server, url: str, **options: object) -> StorageConfig:
    """A config naming ``s3`` at ``url`` with the server's keys in two variables."""
    location = LocationConfig(
        name="s3",
        url=url,
        options={"endpoint_url": server.endpoint, **options},
        credentials_env={"key": KEY_VAR, "secret": SECRET_VAR},
    )
    environ = {KEY_VAR: server.key, SECRET_VAR: server.secret}
    return StorageConfig({"s3": location}, environ=environ)


def sftp_config(server: SSHServer, root: Path, key_file: Path | None = None) -> StorageConfig:
    """A config naming ``sftp`` at ``root`` on the server, logging in with a key file."""
    location = LocationConfig(
        name="sftp",
        url=server.url(root),
        options={
            "key_filename": str(key_file or server.key_file),
            "look_for_keys": False,
            "allow_agent": False,
        },
    )
    return StorageConfig({"sftp": location})


@pytest.fixture
def s3_location(s3_server: S3Server) -> StorageLocation:
    """A fresh prefix of the test bucket, named ``s3``."""
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    return open_location("s3", config=s3_config(s3_server, url))


@pytest.fixture
def sftp_location(sshd_server: SSHServer, tmp_path: Path) -> StorageLocation:
    """A fresh folder on the SSH server (this machine), named ``sftp``."""
    root = tmp_path / "sftp-root"
    root.mkdir()
    return open_location("sftp", config=sftp_config(sshd_server, root))


@pytest.fixture
def file_location(tmp_path: Path) -> StorageLocation:
    """A fresh local folder as an ad-hoc ``file://`` location."""
    return open_location((tmp_path / "file-root").as_uri(), config=StorageConfig())


@pytest.fixture
def http_location(http_server: HTTPServerHandle) -> Iterator[StorageLocation]:
    """A fresh folder the HTTP server serves (filled by writing to ``http_root(location)``)."""
    name = uuid.uuid4().hex
    (http_server.root / name).mkdir()
    yield open_location(f"{http_server.url}/{name}", config=StorageConfig())


@pytest.fixture(params=["file", "s3", "sftp"])
def location(request: pytest.FixtureRequest) -> StorageLocation:
    """Each writable provider in turn, on its real server."""
    return request.getfixturevalue(f"{request.param}_location")  # type: ignore[no-any-return]
