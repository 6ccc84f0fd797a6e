"""API tokens: create (shown once), list, revoke. Users manage their own; admins any.

A worker token (``kind: worker``, the only kind ``/ingest`` takes) belongs to an operator
or admin. A worker token cannot create or revoke tokens: a worker's credential never
turns into a broader one.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from hoist.server.accounts import ApiToken, Role, TokenKind
from hoist.server.accounts.credentials import TokenNotFoundError
from hoist.server.api import API_PREFIX
from hoist.server.auth import Principal, forget_tokens_after
from hoist.server.deps import State, Viewer, responses
from hoist.server.errors import ApiError
from hoist.server.schemas import ID_PATTERN, TokenCreate, TokenCreated, TokenInfo

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/tokens", tags=["tokens"], dependencies=[Depends(forget_tokens_after)]
)


def _info(token: ApiToken) -> TokenInfo:
    return TokenInfo.model_validate(token, from_attributes=True)


def _is_admin(principal: Principal) -> bool:
    return principal.user.role.allows(Role.ADMIN)


def _not_a_worker(principal: Principal) -> None:
    if principal.worker:
        raise ApiError(403, "a worker token cannot create or revoke tokens")


@router.post(
    "", status_code=201, response_model=TokenCreated, responses=responses(401, 403, 404, 422)
)
def create_token(body: TokenCreate, state: State, principal: Viewer) -> TokenCreated:
    """A new token for the caller (admins: for any ``user_id``). The secret is in the
    response only: it is stored hashed. A ``worker`` token needs an operator or admin."""
    _not_a_worker(principal)
    user_id = body.user_id or principal.user.id
    owner = principal.user
    if user_id != principal.user.id:
        if not _is_admin(principal):
            raise ApiError(403, "only admins create tokens for other users")
        owner = state.users.get(user_id)  # 404 for an unknown user
    if body.kind is TokenKind.WORKER and not owner.role.allows(Role.OPERATOR):
        raise ApiError(403, f"a worker token needs the operator role; {owner.username} is "
                            f"a {owner.role}")  # fmt: skip
    expires = None if body.expires_in_days is None else time.time() + body.expires_in_days * 86400
    token, secret = state.credentials.create_token(user_id, body.name, expires, kind=body.kind)
    return TokenCreated(info=_info(token), token=secret)


@router.get("", response_model=list[TokenInfo], responses=responses(401, 403, 422))
def list_tokens(
    state: State,
    principal: Viewer,
    all_users: Annotated[bool, Query(alias="all", description="Every user's (admins).")] = False,
) -> list[TokenInfo]:
    """The caller's tokens (admins with ``all=true``: everyone's), newest first."""
    if all_users and not _is_admin(principal):
        raise ApiError(403, "only admins list every user's tokens")
    owner = None if all_users else principal.user.id
    return [_info(t) for t in state.credentials.list_tokens(owner)]


@router.delete(
    "/{token_id}", status_code=204, response_class=Response,
    responses=responses(401, 403, 404, 422),
)  # fmt: skip
def revoke_token(
    token_id: Annotated[str, Path(pattern=ID_PATTERN)], state: State, principal: Viewer
) -> Response:
    """Revoke a token (the caller's own; admins: any; not with a worker token)."""
    _not_a_worker(principal)
    token = state.credentials.get_token(token_id)
    if token.user_id != principal.user.id and not _is_admin(principal):
        raise TokenNotFoundError(token_id)  # do not reveal other users' token ids
    state.credentials.revoke_token(token.id)
    return Response(status_code=204)
