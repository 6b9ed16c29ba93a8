"""Revocation of access: a user's API keys (listed without secrets, revoked one by one) and all of a
user's tokens. Issuing them is the sync API's (routes/sync.py); disabling a user is its PUT's `is_active`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from crowdexports.api.authentication import CallerDep
from crowdexports.api.database import SessionDep
from crowdexports.api.parameters import parse_id
from crowdexports.api.permissions import RevocableApiKey, StaffWriter
from crowdexports.api.schemas import ApiKeyList, TokensRevoked
from crowdexports.auth import accounts
from crowdexports.errors import NotFound
from crowdexports.exports.timestamps import rfc3339
from crowdexports.models import ApiKey, User

router = APIRouter(prefix="/v1", tags=["credentials"])


def api_key_resource(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "user_id": key.user_id, "created_at": rfc3339(key.created_at),
            "expires_at": rfc3339(key.expires_at), "revoked_at": rfc3339(key.revoked_at)}


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, parse_id(user_id))
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


@router.get("/users/{user_id}/apikeys", response_model=ApiKeyList)
def list_api_keys(user_id: str, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    """The user's API keys, without their secrets: for that user and staff (to others, 404)."""
    if not caller.user.is_staff and parse_id(user_id) != caller.user.id:
        raise NotFound(f"user {user_id} does not exist")
    user = _user(session, user_id)
    return {"api_keys": [api_key_resource(key) for key in accounts.api_keys_of(session, user.id)]}


@router.delete("/apikeys/{api_key_id}", status_code=204, response_class=Response)
def revoke_api_key(key: RevocableApiKey, session: SessionDep) -> Response:
    """Revoke an API key, at once and for good: its owner or staff, with a Bearer token. Again is 204."""
    accounts.revoke_api_key(session, key)
    return Response(status_code=204)


@router.post("/users/{user_id}/tokens/revoke", response_model=TokensRevoked)
def revoke_tokens(caller: StaffWriter, user_id: str, session: SessionDep) -> dict[str, Any]:
    """Revoke every access and refresh token of the user (staff, Bearer), whoever issued them, and sign the
    user out of the page."""
    user = _user(session, user_id)
    revoked = accounts.revoke_tokens(session, user.id)
    session.commit()
    return {"revoked": revoked}
