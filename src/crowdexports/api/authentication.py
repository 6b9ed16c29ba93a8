"""Who is calling: the credentials of the Authorization header (Bearer, APIKey, Basic), each counted
against its rate limit, looked up in `auth/credentials.py` through the request's pooled reads."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from crowdexports.api.database import PooledReads, hot_reads, in_database
from crowdexports.api.openapi import CALLER, answers
from crowdexports.api.state import RuntimeDep
from crowdexports.auth import credentials
from crowdexports.auth.passwords import BasicPasswords
from crowdexports.auth.throttle import Throttle, address_of
from crowdexports.database.hotsql import HotConnection
from crowdexports.errors import AuthenticationFailed
from crowdexports.models import UserRecord
from crowdexports.runtime import Runtime

INVALID_TOKEN = 'Bearer realm="api", error="invalid_token"'


@dataclass(frozen=True)
class Caller:
    user: UserRecord
    can_write: bool  # only Bearer tokens may write; API keys and passwords are read-only (SPEC §2)


def _api_key(connection: HotConnection, username: str, key: str) -> UserRecord | None:
    """`APIKey <key>`, or the older `ApiKey <username>:<key>` where the key must be that user's."""
    user = credentials.user_for_api_key(connection, key)
    return user if user is not None and (not username or user.username == username) else None


def _basic_pair(presented: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(presented, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


async def _basic(request: Request, runtime: Runtime, reads: PooledReads, username: str,
                 password: str) -> UserRecord | None:
    user, password_hash = await in_database(runtime, credentials.user_and_password_hash, reads, username)
    passwords: BasicPasswords = request.app.state.basic_passwords
    if passwords.verified.remembers(username, password, password_hash):
        return user
    await in_database(runtime, reads.release)  # the argon2 check, or the wait for another's, needs none
    return user if await passwords.check(username, password, password_hash, address_of(request)) else None


async def authenticate(request: Request, runtime: Runtime, connection: PooledReads) -> Caller:
    """Who is calling, from the Authorization header (scheme names are case-insensitive). Each call
    counts against its credential's rate limit first (auth/throttle.py), found or not: the credential
    itself, so `APIKey K`, `ApiKey :K` and `ApiKey user:K` share one budget."""
    scheme, _, presented = request.headers.get("authorization", "").strip().partition(" ")
    scheme, presented = scheme.lower(), presented.strip()
    throttle: Throttle = request.app.state.throttle
    if scheme == "bearer":
        await throttle.api_request(f"bearer:{presented}")
        user = await in_database(runtime, credentials.user_for_access_token, connection, presented)
        if user is None:
            raise AuthenticationFailed("The access token is invalid or has expired.", INVALID_TOKEN)
        return Caller(user, can_write=True)
    if scheme == "apikey":
        username, _, key = presented.rpartition(":")
        await throttle.api_request(f"apikey:{key}")
        user = await in_database(runtime, _api_key, connection, username, key)
    elif scheme == "basic":
        pair = _basic_pair(presented)
        if pair is not None:
            await throttle.api_request(f"basic:{pair[0]}")
        user = await _basic(request, runtime, connection, *pair) if pair is not None else None
    elif not scheme:
        raise AuthenticationFailed("Authentication credentials were not provided.")
    else:
        raise AuthenticationFailed("Unsupported authorization scheme: use Bearer, APIKey or Basic.")
    if user is None:
        raise AuthenticationFailed("Invalid credentials.")
    return Caller(user, can_write=False)


@answers(*CALLER)
async def get_caller(request: Request, runtime: RuntimeDep) -> Caller:
    async with hot_reads(runtime) as connection:
        return await authenticate(request, runtime, connection)


CallerDep = Annotated[Caller, Depends(get_caller)]
