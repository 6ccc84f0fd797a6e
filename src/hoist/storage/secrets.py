"""Keeping secrets out of what Hoist prints: URLs without passwords or signed query
values, and any known secret value replaced in a message."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "is_secret_name", "redact_text", "redact_url", "split_userinfo"]

REDACTED = "***"

# Option names and query keys whose values are secrets (``key_filename`` is a path).
_SECRET_NAME = re.compile(
    r"(secret|password|passwd|passphrase|token|signature|credential|^sig$|^key$|"
    r"access_key|private_key|api_key|apikey|authorization)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """True for an option or query key whose value must never be shown."""
    return bool(_SECRET_NAME.search(name))


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``(url without user:password, user, password)``; the user stays in the URL."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    netloc = f"{user}@{hostport}" if user else hostport
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, user or None, password if colon else None


def redact_url(url: str) -> str:
    """The URL with any password and secret-looking query values replaced by ``***``."""
    try:
        clean, _, password = split_userinfo(url)
        parts = urlsplit(clean)
    except ValueError:
        return REDACTED
    if password is not None:
        user, _, hostport = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{user}:{REDACTED}@{hostport}")
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs])
        parts = parts._replace(query=query.replace("%2A", "*"))
    return urlunsplit(parts)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and URL userinfo passwords) replaced by ``***``.

    Values shorter than 4 characters are left alone: replacing them would garble the text
    and they guard nothing worth guarding.
    """
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return re.sub(r"(://[^/\s:@]*):[^/\s@]+@", rf"\1:{REDACTED}@", text)
