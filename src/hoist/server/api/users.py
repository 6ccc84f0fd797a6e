"""Accounts (admins only): create, list, read, change, deactivate, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from hoist.server.accounts.passwords import generate_password
from hoist.server.api import API_PREFIX
from hoist.server.api.auth import user_info
from hoist.server.auth import forget_tokens_after
from hoist.server.deps import Admin, State, responses
from hoist.server.schemas import ID_PATTERN, UserCreate, UserCreated, UserInfo, UserUpdate

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/users", tags=["users"], dependencies=[Depends(forget_tokens_after)]
)

UserId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("", response_model=list[UserInfo], responses=responses(401, 403))
def list_users(state: State, principal: Admin) -> list[UserInfo]:
    """Every account, by name."""
    return [user_info(u) for u in state.users.list()]


@router.post(
    "", status_code=201, response_model=UserCreated,
    responses=responses(401, 403, 409, 422, 503),
)  # fmt: skip
def create_user(body: UserCreate, state: State, principal: Admin) -> UserCreated:
    """Create an account; without a password one is generated and returned (once). A
    password that is too short, common or easy to guess is refused (422 on ``password``)."""
    password = body.password or generate_password()
    user = state.users.create(body.username, password, body.role)
    return UserCreated(user=user_info(user), password=None if body.password else password)


@router.get("/{user_id}", response_model=UserInfo, responses=responses(401, 403, 404, 422))
def get_user(user_id: UserId, state: State, principal: Admin) -> UserInfo:
    """One account."""
    return user_info(state.users.get(user_id))


@router.patch(
    "/{user_id}", response_model=UserInfo, responses=responses(401, 403, 404, 409, 422, 503)
)
def update_user(user_id: UserId, body: UserUpdate, state: State, principal: Admin) -> UserInfo:
    """Change role, password or active flag. A new password must pass the password rules
    (422 on ``password``); it and deactivation end the account's sessions and revoke its
    API tokens."""
    user = state.users.update(user_id, role=body.role, password=body.password, active=body.active)
    return user_info(user)


@router.post(
    "/{user_id}/deactivate", response_model=UserInfo, responses=responses(401, 403, 404, 409, 422)
)
def deactivate_user(user_id: UserId, state: State, principal: Admin) -> UserInfo:
    """Deactivate an account: its sessions end and its tokens are revoked at once."""
    return user_info(state.users.deactivate(user_id))


@router.delete(
    "/{user_id}", status_code=204, response_class=Response,
    responses=responses(401, 403, 404, 409, 422),
)  # fmt: skip
def delete_user(user_id: UserId, state: State, principal: Admin) -> Response:
    """Delete an account with its sessions and tokens (not the last admin)."""
    state.users.delete(user_id)
    return Response(status_code=204)
