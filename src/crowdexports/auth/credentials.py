"""Secrets at rest and their checks (RELIABILITY §6).

Passwords are low-entropy, so they get argon2, a slow memory-hard hash. Tokens, API keys and client
secrets are 256-bit random values: guessing one is hopeless, so a fast SHA-256 is enough, and it lets
the database find a row by its hash with an index. Every comparison of secrets is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from crowdexports.database.hotsql import HotConnection, HotStatement
from crowdexports.models import USER_RECORD_COLUMNS, ApiKey, OAuthClient, OAuthToken, User, UserRecord, utcnow

_hasher = PasswordHasher()


def hash_password(password: str, hasher: PasswordHasher = _hasher) -> str:
    """An argon2id hash. `hasher` lets tests use cheap parameters: verify reads them from the hash."""
    return hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password: str, password_hash: str | None) -> bool:
    """True if `password` matches. With no hash (unknown user, no password set) it still spends the
    time of a real check, so response times do not tell which usernames exist."""
    try:
        matched = _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def new_token() -> str:
    """A fresh 256-bit secret (RFC 6749 §10.10 asks for at least 128 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of a high-entropy secret: what the database stores and is searched by."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _same(stored_hash: str, token: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_token(token))


# The caller's lookups run on every API request: one statement each, its user's fields included, run
# on the DBAPI connection (crowdexports/database/hotsql.py says why). An inactive user, a revoked key or token
# is never found: the rules of revocation are in the statement itself, not in another query.
_USERS, _KEYS, _TOKENS = User.__table__, ApiKey.__table__, OAuthToken.__table__
_API_KEY_USER = HotStatement(select(*USER_RECORD_COLUMNS, _KEYS.c.key_hash, _KEYS.c.expires_at)
                             .join_from(_KEYS, _USERS)
                             .where(_KEYS.c.key_hash == bindparam("key_hash"), _KEYS.c.revoked_at.is_(None),
                                    _USERS.c.is_active))
_TOKEN_USER = HotStatement(select(*USER_RECORD_COLUMNS, _TOKENS.c.access_hash, _TOKENS.c.access_expires_at)
                           .join_from(_TOKENS, _USERS)
                           .where(_TOKENS.c.access_hash == bindparam("access_hash"), _TOKENS.c.revoked_at.is_(None),
                                  _USERS.c.is_active))
_NAMED_USER = HotStatement(select(*USER_RECORD_COLUMNS, _USERS.c.password_hash)
                           .where(_USERS.c.username == bindparam("username"), _USERS.c.is_active))
_USER_FIELDS = len(USER_RECORD_COLUMNS)


def user_for_api_key(connection: HotConnection, key: str) -> UserRecord | None:
    """The active user of an API key that is neither revoked nor expired."""
    row = connection.first(_API_KEY_USER, key_hash=hash_token(key))
    if row is None or not _same(row.key_hash, key):
        return None
    return UserRecord(*row[:_USER_FIELDS]) if row.expires_at is None or row.expires_at > utcnow() else None


def user_for_access_token(connection: HotConnection, token: str) -> UserRecord | None:
    """The active user of a Bearer token that is neither revoked nor expired."""
    row = connection.first(_TOKEN_USER, access_hash=hash_token(token))
    if row is None or not _same(row.access_hash, token):
        return None
    return UserRecord(*row[:_USER_FIELDS]) if row.access_expires_at > utcnow() else None


def _can_name(text: str) -> bool:
    """Whether `text` could be a stored username or client id: none holds a NUL (usernames are
    printable, client ids URL-safe), and PostgreSQL refuses a NUL in a query's text (an error, so a
    500), so text with one names nothing and is never sent. Secrets reach queries only as hashes."""
    return "\0" not in text


def user_and_password_hash(connection: HotConnection, username: str) -> tuple[UserRecord | None, str | None]:
    """The active user named `username` and their password hash: (None, None) if there is none."""
    row = connection.first(_NAMED_USER, username=username) if _can_name(username) else None
    return (None, None) if row is None else (UserRecord(*row[:_USER_FIELDS]), row.password_hash)


def user_named(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username)) if _can_name(username) else None


def client_for_secret(session: Session, client_id: str, client_secret: str) -> OAuthClient | None:
    """The client if both id and secret match and it is not revoked. An unknown id still hashes, to keep
    timings alike."""
    client = (session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id,
                                                       OAuthClient.revoked_at.is_(None)))
              if _can_name(client_id) else None)
    matched = _same(client.secret_hash if client else hash_token(""), client_secret)
    return client if client is not None and matched else None


def token_for_refresh(session: Session, refresh_token: str) -> OAuthToken | None:
    """The token row for a refresh token, whatever its state (rotation needs to see revoked ones)."""
    row = session.scalar(select(OAuthToken).where(OAuthToken.refresh_hash == hash_token(refresh_token)))
    return row if row is not None and _same(row.refresh_hash, refresh_token) else None


class VerifiedPasswords:
    """A short-lived memory of (username, password) pairs that argon2 already accepted.

    argon2 costs ~120 ms per check, which would cap HTTP Basic at ~10 requests/s (SPEC §8). Entries
    are keyed by an HMAC under the server secret, never the password, and include the stored hash, so
    a password change makes the old entry useless at once.
    """

    def __init__(self, secret: str, ttl_seconds: float = 60.0, max_entries: int = 10_000) -> None:
        self._key = hashlib.sha256(b"verified-passwords:" + secret.encode()).digest()
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, username: str, password: str, password_hash: str) -> bytes:
        """The pair's key in this memory: an HMAC under the server secret, never the password itself."""
        message = "\0".join((username, password, password_hash)).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def remembers(self, username: str, password: str, password_hash: str | None) -> bool:
        """Whether argon2 accepted this pair against this very hash within the TTL (no hashing: fast)."""
        if password_hash is None:
            return False
        digest = self.key(username, password, password_hash)
        with self._lock:
            expiry = self._entries.get(digest)
        return expiry is not None and expiry > time.monotonic()

    def remember(self, username: str, password: str, password_hash: str) -> None:
        """Note a pair argon2 just accepted against `password_hash`, for the TTL."""
        digest = self.key(username, password, password_hash)
        with self._lock:
            self._entries[digest] = time.monotonic() + self._ttl
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
