"""Who is calling: API tokens (``Authorization: Bearer``) and session cookies, CSRF
checks for cookie-authenticated unsafe requests, and role checks.

Reusable from HTML routes: :func:`current_principal` and :func:`require` are FastAPI
dependencies; :meth:`Authenticator.start_session` / :meth:`Authenticator.end_session`
set and clear the cookie on any response, and :func:`csrf_token` gives a page the token
its forms must post back (field ``csrf_token``).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import Depends, Request, Response, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from hoist.errors import NotFoundError
from hoist.server.accounts import CredentialStore, Role, Session, TokenKind, User, UserStore
from hoist.server.accounts.passwords import sha256_hex
from hoist.server.errors import ApiError

_log = logging.getLogger("hoist.server.auth")

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "RECHECK_INTERVAL",
    "SESSION_COOKIE",
    "Authenticator",
    "CredentialCheck",
    "Principal",
    "csrf_token",
    "current_principal",
    "require",
]

SESSION_COOKIE = "hoist_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
TOKEN_CACHE_TTL = 1.0
"""Seconds a verified API token is trusted without reading the store again. A token
revoked (or a user deactivated) through this process is refused at once; through
another process sharing the store, within this many seconds."""
RECHECK_INTERVAL = 5.0
"""Seconds between re-checks of the credential a long request (an SSE stream) came with:
a stream ends within this long after its token is revoked, its session ends or its
user is deactivated or deleted."""
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_bearer = HTTPBearer(auto_error=False, description="An API token (`hoist tokens create`).")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="A login session.")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller.

    Attributes:
        user: the account.
        via: ``token`` (bearer) or ``session`` (cookie).
        session_id: the session's secret id (cookie logins).
        csrf_token: the session's CSRF token (cookie logins).
        token_id: the API token's id (bearer calls).
        worker: the API token is a worker token (the only kind ``/ingest`` takes).
    """

    user: User
    via: Literal["session", "token"]
    session_id: str | None = None
    csrf_token: str | None = None
    token_id: str | None = None
    worker: bool = False


class Authenticator:
    """Turns credentials into a :class:`Principal`; owns the session cookie's format.

    Args:
        users: the accounts.
        credentials: tokens and sessions.
        secret_key: signs session cookies (itsdangerous).
        secure_cookies: mark the cookie ``Secure`` (HTTPS only).
        clock: seconds on a monotonic clock, for the remembered-token TTL and the
            credential re-checks of streams (tests advance a fake one instead of sleeping).
        recheck_interval: seconds between re-checks of a stream's credential.
    """

    def __init__(
        self,
        users: UserStore,
        credentials: CredentialStore,
        secret_key: str,
        *,
        secure_cookies: bool = False,
        clock: Callable[[], float] = time.monotonic,
        recheck_interval: float = RECHECK_INTERVAL,
    ) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self.users = users
        self.credentials = credentials
        self.secure_cookies = secure_cookies
        self.clock = clock
        if recheck_interval <= 0:
            raise ValueError(f"recheck_interval must be positive, not {recheck_interval}")
        self.recheck_interval = recheck_interval
        self._signer = URLSafeTimedSerializer(secret_key, salt="hoist-session")
        self._login_signer = URLSafeTimedSerializer(secret_key, salt="hoist-login-form")
        self._recent: dict[str, tuple[float, Principal]] = {}

    def login_form_token(self, nonce: str) -> str:
        """The token a login form carries for the pre-session cookie ``nonce``: signed
        with the server's key, so another site can neither read nor forge the pair."""
        return self._login_signer.dumps(nonce)

    def login_form_matches(self, nonce: str | None, token: str | None, max_age: int) -> bool:
        """Whether ``token`` was issued, less than ``max_age`` seconds ago, for ``nonce``."""
        from itsdangerous import BadSignature

        if not nonce or not token:
            return False
        try:
            signed = self._login_signer.loads(token, max_age=max_age)
        except BadSignature:
            return False
        return isinstance(signed, str) and hmac.compare_digest(signed, nonce)

    def recent_token(self, bearer: str) -> Principal | None:
        """The principal of a bearer token verified less than :data:`TOKEN_CACHE_TTL`
        seconds ago in this process, if any (no store read, no thread hop)."""
        found = self._recent.get(sha256_hex(bearer))
        if found is None or self.clock() - found[0] > TOKEN_CACHE_TTL:
            return None
        return found[1]

    def remember_token(self, bearer: str, principal: Principal) -> None:
        """Keep a verified token's principal for :data:`TOKEN_CACHE_TTL` seconds."""
        if len(self._recent) > 10_000:
            self._recent.clear()
        self._recent[sha256_hex(bearer)] = (self.clock(), principal)

    def forget_tokens(self) -> None:
        """Drop every remembered token (after any change to accounts or tokens)."""
        self._recent.clear()

    def authenticate(self, bearer: str | None, cookie: str | None) -> Principal | None:
        """The caller named by a bearer token (preferred) or a session cookie; ``None``
        when the credential is missing, invalid, revoked, expired or its user inactive."""
        if bearer is not None:
            found = self.credentials.token_user(bearer)
            if found is None:
                return None
            worker = found[1].kind is TokenKind.WORKER
            return Principal(found[0], "token", token_id=found[1].id, worker=worker)
        if cookie is None:
            return None
        session_id = self._unsign(cookie)
        session = None if session_id is None else self.credentials.session(session_id)
        if session is None:
            return None
        return Principal(session.user, "session", session_id=session_id,
                         csrf_token=session.csrf_token)  # fmt: skip

    def still_valid(self, principal: Principal) -> bool:
        """Whether the credential ``principal`` authenticated with still holds, read
        from the store (never from the remembered tokens): its session is live, or its
        token is neither revoked nor expired, and its user exists and is active."""
        if principal.session_id is not None:
            return self.credentials.session(principal.session_id) is not None
        if principal.token_id is None:
            return False
        try:
            token = self.credentials.get_token(principal.token_id)
            user = self.users.get(token.user_id)
        except NotFoundError:  # deleted, with its user
            return False
        expired = token.expires_at is not None and token.expires_at <= self.credentials.clock()
        return user.active and token.revoked_at is None and not expired

    def watch(self, principal: Principal) -> CredentialCheck:
        """A re-check of ``principal``'s credential every :attr:`recheck_interval`
        seconds, for a request that outlives its authentication (a stream)."""
        return CredentialCheck(self, principal, self.recheck_interval)

    def _unsign(self, cookie: str) -> str | None:
        from itsdangerous import BadSignature

        try:
            value = self._signer.loads(cookie, max_age=int(self.credentials.session_ttl))
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def start_session(self, response: Response, user: User) -> Session:
        """Open a session for ``user`` and set its cookie (HttpOnly, SameSite=Lax)."""
        session_id, session = self.credentials.create_session(user.id)
        response.set_cookie(
            SESSION_COOKIE,
            self._signer.dumps(session_id),
            max_age=int(self.credentials.session_ttl),
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
            path="/",
        )
        return session

    def end_session(self, response: Response, principal: Principal) -> None:
        """Revoke the credential the caller used (the session, or the API token) and
        clear the cookie."""
        if principal.session_id is not None:
            self.credentials.end_session(principal.session_id)
        if principal.token_id is not None:
            self.credentials.revoke_token(principal.token_id)
        self.forget_tokens()
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure_cookies
        )


class CredentialCheck:
    """Re-checks a long request's credential at most once per ``interval`` seconds.

    A stream calls :meth:`holds` each time it wakes and ends when it answers ``False``;
    :meth:`due_in` tells it how long it may sleep before the next check is due.
    """

    def __init__(self, auth: Authenticator, principal: Principal, interval: float) -> None:
        self.auth = auth
        self.principal = principal
        self.interval = interval
        self._next = auth.clock() + interval

    def due_in(self) -> float:
        """Seconds until the next check is due (0 when it is)."""
        return max(0.0, self._next - self.auth.clock())

    async def holds(self) -> bool:
        """``True`` while the credential holds (read from the store once a check is due)."""
        if self.auth.clock() < self._next:
            return True
        self._next = self.auth.clock() + self.interval
        try:
            return await anyio.to_thread.run_sync(self.auth.still_valid, self.principal)
        except SQLAlchemyError as exc:  # a busy or restarting store: ask again soon
            _log.warning("credential re-check failed, retrying: %s", exc)
            self._next = self.auth.clock() + min(self.interval, 1.0)
            return True


def _authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.hoist.auth
    return auth


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    cookie: Annotated[str | None, Security(_cookie)] = None,
) -> Principal:
    """The authenticated caller, or 401. Cookie-authenticated unsafe requests must carry
    the session's CSRF token (403 otherwise); bearer requests need none."""
    if bearer is None and request.headers.get("authorization"):
        raise ApiError(401, "malformed Authorization header", {"WWW-Authenticate": "Bearer"})
    auth = _authenticator(request)
    token = bearer.credentials if bearer is not None else None
    principal = auth.recent_token(token) if token is not None else None
    if principal is None:
        principal = await anyio.to_thread.run_sync(auth.authenticate, token, cookie)
        if principal is not None and token is not None:
            auth.remember_token(token, principal)
    if principal is None:
        raise ApiError(401, "authentication required", {"WWW-Authenticate": "Bearer"})
    if principal.via == "session" and request.method not in _SAFE_METHODS:
        await _check_csrf(request, principal)
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    form = None
    if sent is None and content_type.startswith(_FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = principal.csrf_token or ""
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        if form is not None:  # refused: nobody else will close the files it spooled
            await form.close()
        raise ApiError(403, "missing or invalid CSRF token")


async def forget_tokens_after(request: Request) -> AsyncIterator[None]:
    """A router dependency for every change to accounts or tokens: once the request is
    done, this process forgets the tokens it verified recently, so a revoked token or a
    deactivated user is refused at once here (other server processes within
    :data:`TOKEN_CACHE_TTL` seconds)."""
    yield
    if request.method not in _SAFE_METHODS:
        _authenticator(request).forget_tokens()


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must have ``role`` (or a higher one), else 403."""

    async def check(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if not principal.user.role.allows(role):
            raise ApiError(403, f"this needs the {role} role")
        return principal

    check.__name__ = f"require_{role}"
    return check


def csrf_token(principal: Principal) -> str | None:
    """The token a page's forms must post back as ``csrf_token`` (session logins)."""
    return principal.csrf_token
