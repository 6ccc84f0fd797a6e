"""What keeps secrets out of URLs and messages."""

from __future__ import annotations

from hoist.storage.secrets import is_secret_name, redact_text, redact_url, split_userinfo


def test_passwords_and_signed_query_values_leave_urls() -> None:
    assert redact_url("sftp://me:pa55word@host:22/srv") == "sftp://me:***@host:22/srv"
    signed = "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc123&X-Amz-Credential=AKIA1&v=2"
    assert redact_url(signed) == (
        "https://b.s3.amazonaws.com/k?X-Amz-Signature=***&X-Amz-Credential=***&v=2"
    )
    assert redact_url("s3://bucket/prefix") == "s3://bucket/prefix"


def test_userinfo_split() -> None:
    assert split_userinfo("sftp://me:pw@host:2222/x") == ("sftp://me@host:2222/x", "me", "pw")
    assert split_userinfo("sftp://me@host/x") == ("sftp://me@host/x", "me", None)
    assert split_userinfo("s3://bucket/x") == ("s3://bucket/x", None, None)


def test_known_secret_values_are_replaced() -> None:
    text = "denied for key AKIAEXAMPLE with secret wJalrXUtnFEMI at ftp://u:hunter22@h/x"
    assert redact_text(text, ["wJalrXUtnFEMI", "AKIAEXAMPLE", ""]) == (
        "denied for key *** with secret *** at ftp://u:***@h/x"
    )


def test_secret_names() -> None:
    secret = ["secret", "password", "passphrase", "token", "key", "aws_secret_access_key"]
    secret += ["aws_access_key_id", "Authorization", "X-Amz-Signature", "private_key"]
    for name in secret:
        assert is_secret_name(name), name
    for name in ("endpoint_url", "region", "key_filename", "username", "port", "project"):
        assert not is_secret_name(name), name
