"""``gs://`` without a server: no GCS server or emulator installs on this machine (the
README says so). What can be checked offline is: URL handling, the config and its
credentials file, a real ``GCSFileSystem`` built (not contacted), and the error mapping
of the exceptions gcsfs itself raises for each HTTP status."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from hoist.errors import StorageNotFoundError, StoragePermissionError, StorageUnreachableError
from hoist.storage import StorageConfig, load_storage_config, open_location
from hoist.storage.failures import ErrorContext, storage_error
from hoist.storage.providers import PROVIDERS
from tests.conftest import need

if importlib.util.find_spec("gcsfs") is None:
    need("gcsfs is not installed (pip install 'hoist[storage]')")
import gcsfs
from gcsfs.retry import HttpError, validate_response

KEY = {
    "type": "service_account",
    "project_id": "demo",
    "private_key_id": "0123abcd",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIfakeKeyMaterial9876\n-----END...\n",
    "client_email": "bot@demo.iam.gserviceaccount.com",
}


def gcs_error(exc: BaseException, path: str = "w.pt") -> Exception:
    provider = PROVIDERS["gs"]
    context = ErrorContext(
        "gcs", provider, provider.parse("gs://team/models"), ("MIIfakeKeyMaterial9876",)
    )
    return storage_error(exc, context, path)


def raised_by_gcsfs(status: int, content: bytes = b"") -> BaseException:
    """What gcsfs raises for a response with ``status`` (its own validation code)."""
    try:
        validate_response(status, content, "team/models/w.pt")
    except Exception as exc:
        return exc
    raise AssertionError(f"gcsfs accepted status {status}")


def test_urls() -> None:
    location = open_location("gs://team/models/", config=StorageConfig())
    assert (location.name, location.url) == ("gs://team/models", "gs://team/models")
    assert location.url_of("yolo/best.pt") == "gs://team/models/yolo/best.pt"
    assert location.child("yolo").url == "gs://team/models/yolo"
    assert open_location("gcs://team", config=StorageConfig()).url == "gs://team"


def test_a_service_account_file_is_the_token(tmp_path: Path) -> None:
    (tmp_path / "key.json").write_text(json.dumps(KEY))
    (tmp_path / "storage.yaml").write_text(
        "storage:\n  gcs:\n    url: gs://team/models\n    options: {project: demo}\n"
        "    credentials: {file: key.json}\n"
    )
    config = load_storage_config(tmp_path / "storage.yaml")
    assert config.locations["gcs"].credentials({}) == {"token": KEY}
    location = open_location("gcs", config=config)
    assert "MIIfake" not in repr(location) and "MIIfake" not in repr(config)


def test_a_real_filesystem_is_built_without_contacting_google() -> None:
    config = StorageConfig()
    location = open_location("gs://team/models", config=config)
    fs = PROVIDERS["gs"].filesystem(PROVIDERS["gs"].parse(location.url), {"token": "anon"})
    assert isinstance(fs, gcsfs.GCSFileSystem)


def test_gcsfs_errors_map_to_storage_errors() -> None:
    assert isinstance(gcs_error(raised_by_gcsfs(404)), StorageNotFoundError)
    denied = gcs_error(raised_by_gcsfs(403, b'{"error": {"message": "no access"}}'))
    assert isinstance(denied, StoragePermissionError)
    assert str(denied) == (
        "storage 'gcs' (gs://team/models): w.pt: "
        "permission denied (HTTP 403: wrong account, or no access)"
    )
    unauthorised = gcs_error(HttpError({"code": 401, "message": "Invalid Credentials"}))
    assert isinstance(unauthorised, StoragePermissionError)
    bucket = gcs_error(FileNotFoundError("The specified bucket does not exist."))
    assert isinstance(bucket, StorageNotFoundError)
    assert bucket.problem == "bucket 'team' does not exist"
    assert isinstance(gcs_error(ConnectionRefusedError(111, "refused")), StorageUnreachableError)


def test_a_key_in_an_error_is_redacted() -> None:
    error = gcs_error(HttpError({"code": 403, "message": "bad key MIIfakeKeyMaterial9876"}))
    assert "MIIfakeKeyMaterial9876" not in str(error) and "***" in str(error)
