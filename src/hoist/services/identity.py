"""The signed identity a Hoist server sends with what it asks of a service.

A service never believes a header that names a user: the server signs who is asking
with a secret the two share (``Settings.service_secret``, ``HOIST_SERVICE_SECRET``), and
the service verifies it. The header ``X-Hoist-Identity`` carries a token::

    base64url(JSON {"user", "role", "run", "exp"}) + "." + hex(HMAC-SHA256(that part))

``exp`` is a Unix time (tokens live for a minute by default); ``run``, when set, binds
the token to one run (an answer to that run's lock), and such a token is refused for any
other. A token that is malformed, forged, expired or bound elsewhere raises
:class:`~hoist.errors.IdentityError`, whose message never repeats the token.

A service with a secret refuses its enter POSTs and ``/-/hoist/`` endpoints without a
valid identity (401); a service without one runs every request as anonymous (local
development) and says so when it starts. Who may answer a run's lock is
:func:`may_answer`, the one rule the service and the Hoist server both apply.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from hoist.errors import IdentityError

__all__ = [
    "IDENTITY_HEADER",
    "Identity",
    "IdentityError",
    "may_answer",
    "request_identity",
    "sign",
    "verify",
]

#: The header that carries the token.
IDENTITY_HEADER = "X-Hoist-Identity"

# Longer than any token a server signs: refused before any decoding work.
_MAX_TOKEN = 4096
_STATE = "hoist_identity"
#: Roles that may answer any run's locks (others only those of runs they launched).
_ANSWERERS = frozenset({"operator", "admin"})


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified token says is asking.

    Attributes:
        user: the user's name on the Hoist server.
        role: their role there (``viewer``, ``operator``, ``admin``).
        run: the run the token is bound to (``None``: any).
        exp: when the token expires (Unix time).
    """

    user: str
    role: str
    run: str | None
    exp: float


def sign(secret: str | bytes, user: str, role: str, run: str | None = None, ttl: float = 60) -> str:
    """A token saying ``user`` (with ``role``) asks, valid for ``ttl`` seconds.

    Args:
        secret: the secret shared with the service.
        user, role: who asks.
        run: bind the token to this run (only requests about it accept it).
        ttl: seconds the token stays valid.

    Raises:
        ValueError: the secret is empty, or ``user``/``role`` are not non-empty strings.
    """
    key = _key(secret)
    if not key:
        raise ValueError("an identity needs a non-empty secret")
    if not (isinstance(user, str) and user and isinstance(role, str) and role):
        raise ValueError("an identity needs a user and a role")
    claims = {"user": user, "role": role, "run": run, "exp": time.time() + float(ttl)}
    body = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    head = base64.urlsafe_b64encode(body).rstrip(b"=")
    return (head + b"." + _mac(key, head)).decode("ascii")


def verify(
    secret: str | bytes, token: str | None, run: str | None = None, now: float | None = None
) -> Identity:
    """The identity ``token`` carries, once its signature and expiry check out.

    Args:
        secret: the shared secret.
        token: the header's value.
        run: the run the request is about; a token bound to another run is refused (an
            unbound token is accepted for any run).
        now: the time to check expiry against (default: now).

    Raises:
        IdentityError: missing, malformed, forged, expired or bound to another run.
    """
    key = _key(secret)
    if not key:
        raise IdentityError("this service has no secret to verify identities with")
    if not token:
        raise IdentityError(f"no {IDENTITY_HEADER} header")
    try:
        raw = token.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise IdentityError("malformed token") from None
    head, dot, mac = raw.rpartition(b".")
    if len(raw) > _MAX_TOKEN or not dot or not head:
        raise IdentityError("malformed token")
    # Compare the signature first, in constant time: nothing of a forged token is read.
    if not hmac.compare_digest(mac, _mac(key, head)):
        raise IdentityError("bad signature")
    claims = _claims(head)
    if (time.time() if now is None else now) >= claims.exp:
        raise IdentityError("expired")
    if claims.run is not None and claims.run != run:
        raise IdentityError("the token is bound to another run")
    return claims


def may_answer(user: str | None, role: str | None, launcher: object) -> bool:
    """Whether ``user`` (with ``role``) may see and answer the locks of a run that
    ``launcher`` launched (its ``meta["user"]``): an operator or admin always, anyone
    else only their own runs (a run with no launcher has none to match)."""
    if role in _ANSWERERS:
        return True
    return bool(user) and isinstance(launcher, str) and launcher == user


def request_identity(request: Request, run: str | None = None) -> Identity | None:
    """The verified identity of a request to a service (``None``: anonymous).

    The secret is the app's (``ServeAPI.service_secret``); without one every request is
    anonymous. The identity is verified once per request (kept in its state).

    Args:
        request: the request to a service endpoint.
        run: the run the request is about, for a run-bound token.

    Raises:
        HTTPException: 401 when the app has a secret and the identity is missing,
            malformed, forged, expired or bound to another run.
    """
    if hasattr(request.state, _STATE):
        found: Identity | None = getattr(request.state, _STATE)
        if found is None or found.run is None or found.run == run:
            return found
    app = request.scope.get("app")
    secret = getattr(app, "service_secret", None)
    if not secret:
        identity = None
    else:
        try:
            identity = verify(secret, request.headers.get(IDENTITY_HEADER), run=run)
        except IdentityError as exc:
            raise HTTPException(
                401, exc.message, headers={"WWW-Authenticate": "X-Hoist-Identity"}
            ) from None
    setattr(request.state, _STATE, identity)
    return identity


def _key(secret: str | bytes | None) -> bytes:
    if secret is None:
        return b""
    return secret.encode() if isinstance(secret, str) else bytes(secret)


def _mac(key: bytes, head: bytes) -> bytes:
    return hmac.new(key, head, hashlib.sha256).hexdigest().encode("ascii")


def _claims(head: bytes) -> Identity:
    # Only reached with a valid signature; still checked, as the secret may be shared
    # with a signer of another version.
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(head + b"=" * (-len(head) % 4)))
    except (binascii.Error, ValueError):
        raise IdentityError("malformed token") from None
    if not isinstance(data, dict):
        raise IdentityError("malformed token")
    user, role, run, exp = (data.get(k) for k in ("user", "role", "run", "exp"))
    if not (isinstance(user, str) and user and isinstance(role, str) and role):
        raise IdentityError("malformed token")
    if run is not None and not isinstance(run, str):
        raise IdentityError("malformed token")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        raise IdentityError("malformed token")
    return Identity(user=user, role=role, run=run, exp=float(exp))
