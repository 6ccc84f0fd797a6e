"""Bad input against the real servers: an unreachable storage, wrong credentials, a
missing bucket. Each error names the location and the path, and no secret shows in its
message, its chain, a traceback or a repr."""

from __future__ import annotations

import logging
import pickle
import traceback
from pathlib import Path

import pytest

from hoist.errors import (
    StorageError,
    StorageNotFoundError,
    StoragePermissionError,
    StorageUnreachableError,
)
from hoist.storage import LocationConfig, StorageConfig, open_location
from tests.storage.conftest import BUCKET, SECRET_VAR, s3_config, sftp_config
from tests.storage.servers import HTTPServerHandle, S3Server, SSHServer, free_port

FAST_FAIL = {"config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 5}}


def assert_clean(error: StorageError, *secrets: str) -> None:
    """No secret in the message, the attributes, the chain's text or a traceback."""
    shown = "".join(traceback.format_exception(error)) + repr(error) + repr(vars(error))
    for secret in secrets:
        assert secret not in shown


def test_unreachable_s3(s3_server: S3Server) -> None:
    config = s3_config(s3_server, f"s3://{BUCKET}/x", **FAST_FAIL)
    closed = f"http://127.0.0.1:{free_port()}"
    config.locations["s3"].options["endpoint_url"] = closed  # type: ignore[index]
    location = open_location("s3", config=config)
    with pytest.raises(StorageUnreachableError) as caught:
        location.read_bytes("weights/x.pt")
    error = caught.value
    assert (error.location, error.path, error.url) == ("s3", "weights/x.pt", f"s3://{BUCKET}/x")
    assert str(error).startswith(f"storage 's3' (s3://{BUCKET}/x): weights/x.pt: unreachable")
    assert_clean(error, s3_server.secret)


def test_unreachable_sftp(sshd_server: SSHServer, tmp_path: Path) -> None:
    url = f"sftp://{sshd_server.user}@127.0.0.1:{free_port()}{tmp_path.as_posix()}"
    config = StorageConfig(
        {"far": LocationConfig("far", url, {"key_filename": str(sshd_server.key_file)})}
    )
    with pytest.raises(StorageUnreachableError, match=r"storage 'far' .*: a\.txt: unreachable"):
        open_location("far", config=config).read_bytes("a.txt")


def test_unreachable_http() -> None:
    location = open_location(f"http://127.0.0.1:{free_port()}/files", config=StorageConfig())
    with pytest.raises(StorageUnreachableError, match=r"files': a\.txt: unreachable"):
        location.read_bytes("a.txt")


def test_wrong_s3_secret(s3_server: S3Server) -> None:
    config = s3_config(s3_server, f"s3://{BUCKET}/x")
    wrong = "WrongSecretValue0123456789abcdef"
    config.environ[SECRET_VAR] = wrong  # type: ignore[index]
    location = open_location("s3", config=config)
    for call in (lambda: location.read_bytes("a.txt"), lambda: location.write_bytes("a", b"1"),
                 lambda: location.list()):  # fmt: skip
        with pytest.raises(StoragePermissionError, match=r"permission denied") as caught:
            call()
        assert caught.value.location == "s3"
        assert_clean(caught.value, wrong, s3_server.secret)
    assert wrong not in repr(location) and wrong not in repr(config)


def test_wrong_sftp_key(sshd_server: SSHServer, tmp_path: Path) -> None:
    config = sftp_config(sshd_server, tmp_path, key_file=sshd_server.other_key_file)
    with pytest.raises(StoragePermissionError, match=r"storage 'sftp' .*authentication failed"):
        open_location("sftp", config=config).list()


def test_wrong_sftp_password_stays_secret(sshd_server: SSHServer, tmp_path: Path) -> None:
    password = "hunter2-Pa55word"
    url = f"sftp://{sshd_server.user}:{password}@127.0.0.1:{sshd_server.port}{tmp_path}"
    location = open_location(url, config=StorageConfig())
    assert password not in location.url and password not in repr(location)
    assert location.url == f"sftp://{sshd_server.user}@127.0.0.1:{sshd_server.port}{tmp_path}"
    with pytest.raises(StoragePermissionError) as caught:
        location.read_bytes("a.txt")
    assert_clean(caught.value, password)


def test_wrong_http_token(http_server: HTTPServerHandle) -> None:
    (http_server.root / "private").mkdir(exist_ok=True)
    (http_server.root / "private" / "s.txt").write_text("behind a token")
    url = f"{http_server.url}/private"
    token = "not-the-token-5a9e"

    def config(value: str) -> StorageConfig:
        named = LocationConfig("web", url, credentials_env={"token": "WEB_TOKEN"})
        return StorageConfig({"web": named}, environ={"WEB_TOKEN": value})

    with pytest.raises(
        StoragePermissionError, match=r"s.txt: permission denied \(HTTP 401\)"
    ) as caught:
        open_location("web", config=config(token)).read_bytes("s.txt")
    assert_clean(caught.value, token)
    assert (
        open_location("web", config=config(http_server.token)).read_bytes("s.txt")
        == b"behind a token"
    )


def test_missing_bucket(s3_server: S3Server) -> None:
    location = open_location("s3", config=s3_config(s3_server, "s3://no-such-bucket-7f3/models"))
    for call in (
        lambda: location.read_bytes("w.pt"),
        lambda: location.list(),
        lambda: location.write_bytes("w.pt", b"1"),
        lambda: location.exists("w.pt"),
    ):
        with pytest.raises(
            StorageNotFoundError, match=r"bucket 'no-such-bucket-7f3' does not exist"
        ):
            call()


def test_errors_cross_process_boundaries_intact(s3_server: S3Server) -> None:
    location = open_location("s3", config=s3_config(s3_server, f"s3://{BUCKET}/p"))
    with pytest.raises(StorageNotFoundError) as caught:
        location.info("absent.bin")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy), copy.location, copy.path, copy.problem, str(copy)) == (
        StorageNotFoundError, "s3", "absent.bin", "not found", str(caught.value)
    )  # fmt: skip


def test_a_location_survives_pickling(s3_server: S3Server) -> None:
    location = open_location("s3", config=s3_config(s3_server, f"s3://{BUCKET}/pickled"))
    location.write_bytes("a.txt", b"before")
    copy = pickle.loads(pickle.dumps(location))
    assert copy.read_bytes("a.txt") == b"before" and repr(copy) == repr(location)


def test_unknown_scheme_and_bad_urls() -> None:
    with pytest.raises(StorageError, match=r"no storage provider for 'ftp://' \(known: .*s3://"):
        open_location("ftp://host/x", config=StorageConfig())
    with pytest.raises(StorageError, match=r"names no bucket"):
        open_location("s3:///just-a-path", config=StorageConfig())


def test_no_secret_reaches_the_logs(
    s3_server: S3Server, sshd_server: SSHServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = s3_config(s3_server, f"s3://{BUCKET}/logged")
    location = open_location("s3", config=config)
    location.write_bytes("a.txt", b"1")
    password = "hunter2-Logged-pw"
    url = f"sftp://{sshd_server.user}:{password}@127.0.0.1:{sshd_server.port}{tmp_path}"
    with pytest.raises(StoragePermissionError):
        open_location(url, config=StorageConfig()).read_bytes("a.txt")
    assert caplog.records  # the libraries did log, at DEBUG
    assert s3_server.secret not in caplog.text and password not in caplog.text
