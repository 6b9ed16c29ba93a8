"""Users, credentials, OAuth clients, tokens and projects: called by the CLI, the API and tests.

Plaintext secrets are returned exactly once, by the function that makes them; only hashes are stored.
Every function that creates something commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports import ids
from crowdexports.auth import credentials
from crowdexports.config import Settings
from crowdexports.errors import Conflict, CrowdexportsError, NotFound
from crowdexports.models import ApiKey, OAuthClient, OAuthToken, Project, User, WebSession, utcnow
from crowdexports.rules import api_keys, projects, users
from crowdexports.rules.reader import Reader

# Session.execute is typed to return a Result; an UPDATE's is a CursorResult, whose rowcount the
# `type: ignore[attr-defined]` comments below read.

SCOPE = "read write"


class OAuthError(CrowdexportsError):
    """A token request refused as RFC 6749 §5.2 says: `error` is the protocol's error code."""

    def __init__(self, error: str, description: str, field_names: list[str] | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.field_names = field_names or []


def create_user(
    session: Session, *, username: str, email: str, password: str | None = None, is_staff: bool = False,
    lang: str = users.LANG.default, first_name: str = "", last_name: str = "", name: str = "",
) -> User:
    """A new user, checked by the rules of a synced one; without a password they can use API keys and
    platform-issued tokens only."""
    fields = {"username": username, "email": email, "first_name": first_name, "last_name": last_name, "name": name,
              "lang": lang, "password": password}
    reader = Reader()
    reader.texts(fields, users.PROFILE)
    if password is not None:
        reader.text(fields, users.PASSWORD)
    reader.done()
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        id=ids.next_local_id(session, User), username=username, email=email, is_staff=is_staff, lang=lang,
        first_name=first_name, last_name=last_name, name=users.display_name(name, first_name, last_name),
        password_hash=credentials.hash_password(password) if password is not None else None,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # created by someone else between the check and the insert
        session.rollback()
        raise Conflict(f"username {username!r} is taken") from None
    return user


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def create_api_key(session: Session, user: User, expires_in_days: int | None = None) -> tuple[ApiKey, str]:
    """A new read-only API key for `user`: (row, key), the key returned once. It works until revoked, and
    until `expires_in_days` have passed if given."""
    reader = Reader()
    reader.integer({"expires_in_days": expires_in_days}, api_keys.EXPIRES_IN_DAYS)
    reader.done()
    key, now = credentials.new_token(), utcnow()
    row = ApiKey(user_id=user.id, key_hash=credentials.hash_token(key), created_at=now,
                 expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(row)
    session.commit()
    return row, key


def find_api_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


def api_keys_of(session: Session, user_id: int) -> list[ApiKey]:
    """Every key of a user, revoked and expired ones included, oldest first."""
    return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)))


def revoke_api_key(session: Session, key: ApiKey) -> None:
    """The key stops working at once; revoking it again changes nothing."""
    session.execute(update(ApiKey).where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
    session.commit()
    session.refresh(key)


def revoke_tokens(session: Session, user_id: int) -> int:
    """Revokes every live token pair of a user (access and refresh) and signs them out of the page, without
    committing: how many token pairs. Whoever asks for this fears someone holds the user's access, and a
    page session is access too (docs/web.md)."""
    now = utcnow()
    revoked: int = session.execute(update(OAuthToken).where(OAuthToken.user_id == user_id,
                                                            OAuthToken.revoked_at.is_(None))
                                   .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
    session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
                    .values(revoked_at=now))
    return revoked


def revoke_credentials(session: Session, user_id: int) -> None:
    """After a password change: the user's token pairs and API keys, without committing. Keys too, as the
    platform mints keys for whoever is logged in as the user, so someone who knew the old password may hold
    one (docs/decisions.md)."""
    revoke_tokens(session, user_id)
    session.execute(update(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def set_active(session: Session, user: User, active: bool) -> None:
    """An inactive user's every credential is refused (credentials.py); activating gives back those that are
    neither revoked nor expired."""
    user.is_active = active
    session.commit()


def find_client(session: Session, client_id: str) -> OAuthClient:
    client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        raise NotFound(f"no OAuth client {client_id!r}")
    return client


def revoke_client(session: Session, client: OAuthClient) -> int:
    """The client can no longer get tokens, and every live token it was given dies: how many."""
    now = utcnow()
    if client.revoked_at is None:
        client.revoked_at = now
    revoked: int = session.execute(update(OAuthToken).where(OAuthToken.client_id == client.id,
                                                            OAuthToken.revoked_at.is_(None))
                                   .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
    session.commit()
    return revoked


def create_client(session: Session, name: str) -> tuple[OAuthClient, str, str]:
    """A new OAuth client: (row, client_id, client_secret); the secret is returned once."""
    client_id, client_secret = credentials.new_token()[:32], credentials.new_token()
    client = OAuthClient(name=name, client_id=client_id, secret_hash=credentials.hash_token(client_secret))
    session.add(client)
    session.commit()
    return client, client_id, client_secret


def create_project(
    session: Session, *, owner: User, name: str, currency: str = "EUR", timezone: str = projects.TIMEZONE.default,
    lang: str | None = None,
) -> Project:
    """A project of `owner`, checked by the rules of a synced one; its language defaults to the owner's."""
    lang = lang or owner.lang
    reader = Reader()
    reader.texts({"name": name, "currency": currency, "timezone": timezone, "lang": lang},
                 (projects.NAME, projects.CURRENCY, projects.TIMEZONE, projects.LANG))
    reader.done()
    project = Project(id=ids.next_local_id(session, Project), owner_id=owner.id, name=name,
                      slug=projects.default_slug(name), currency=currency, timezone=timezone, lang=lang)
    session.add(project)
    session.commit()
    return project


def issue_tokens(session: Session, user: User, client: OAuthClient | None, settings: Settings,
                 family: int | None = None) -> dict[str, Any]:
    """A new access/refresh pair for `user`: the token answer of SPEC §2 (RFC 6749 §5.1). `family` is
    the first token of the refresh chain it continues, if it continues one."""
    access, refresh, now = credentials.new_token(), credentials.new_token(), utcnow()
    session.add(OAuthToken(
        user_id=user.id, client_id=client.id if client else None, family=family,
        access_hash=credentials.hash_token(access), refresh_hash=credentials.hash_token(refresh),
        access_expires_at=now + timedelta(seconds=settings.access_token_seconds),
        refresh_expires_at=now + timedelta(days=settings.refresh_token_days),
    ))
    session.commit()
    return {"access_token": access, "expires_in": settings.access_token_seconds, "refresh_token": refresh,
            "scope": SCOPE, "token_type": "Bearer"}


def authenticate_client(session: Session, client_id: str, client_secret: str) -> OAuthClient:
    client = credentials.client_for_secret(session, client_id, client_secret)
    if client is None:
        raise OAuthError("invalid_client", "Client authentication failed.")
    return client


def password_grant(session: Session, client: OAuthClient, username: str, password: str, settings: Settings,
                   verify: Callable[[str, str | None], bool]) -> dict[str, Any]:
    """RFC 6749 §4.3. Kept for Ulule clients although RFC 9700 advises against it. `verify` checks
    the password against the user's hash (the API bounds and throttles it: auth/passwords.py)."""
    user = credentials.user_named(session, username)
    # The read is over: its connection goes back to the pool for the hash, as for HTTP Basic
    # (api/database.py PooledReads). A commit, not a rollback: that would expire `user` and the client.
    session.commit()
    checked = len(password) <= users.PASSWORD.max_length and verify(password, user.password_hash if user else None)
    if user is None or not checked or not user.is_active:
        raise OAuthError("invalid_grant", "Invalid credentials given.", ["username", "password"])
    return issue_tokens(session, user, client, settings)


def refresh_grant(session: Session, client: OAuthClient, refresh_token: str,
                  settings: Settings) -> dict[str, Any]:
    """RFC 6749 §6 with rotation: each refresh token works once, and its access token dies with it.

    A second use of a rotated token means it leaked (RFC 9700 §4.14.2): its whole family, every pair
    issued from the same first token, is revoked, whichever client refreshed it. Tokens issued to no
    client (by the platform) may be refreshed by any authenticated client; others only by their own.
    """
    row = credentials.token_for_refresh(session, refresh_token)
    now = utcnow()
    if row is None or (row.client_id is not None and row.client_id != client.id):
        raise OAuthError("invalid_grant", "Invalid refresh token.", ["refresh_token"])
    family = row.family or row.id
    if row.revoked_at is not None:
        session.execute(update(OAuthToken).where(or_(OAuthToken.id == family, OAuthToken.family == family),
                                                 OAuthToken.revoked_at.is_(None)).values(revoked_at=now))
        session.commit()
        raise OAuthError("invalid_grant", "Refresh token already used or revoked.", ["refresh_token"])
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:  # the token is kept for when the user is active again
        raise OAuthError("invalid_grant", "Invalid refresh token.", ["refresh_token"])
    # Conditional: of two concurrent refreshes with one token, exactly one wins.
    won = session.execute(update(OAuthToken).where(OAuthToken.id == row.id, OAuthToken.revoked_at.is_(None))
                          .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
    if not won or row.refresh_expires_at <= now:
        session.commit()
        raise OAuthError("invalid_grant", "Invalid refresh token.", ["refresh_token"])
    return issue_tokens(session, user, client, settings, family)
