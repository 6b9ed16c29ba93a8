"""Users, credentials, OAuth clients, tokens and projects: called by the CLI, the API and tests.

Plaintext secrets are returned exactly once, by the function that makes them; only hashes are stored.
Every function that creates something commits.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports import ids, security
from crowdexports.config import Settings
from crowdexports.errors import Conflict, CrowdexportsError, FieldProblem, InvalidInput, NotFound
from crowdexports.models import ApiKey, OAuthClient, OAuthToken, Project, User, utcnow

SCOPE = "read write"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LANG = re.compile(r"[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?")
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a cap stops multi-megabyte "passwords"


class OAuthError(CrowdexportsError):
    """A token request refused as RFC 6749 §5.2 says: `error` is the protocol's error code."""

    def __init__(self, error: str, description: str, field_names: list[str] | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.field_names = field_names or []


def _user_problems(username: str, email: str, lang: str, password: str | None) -> list[FieldProblem]:
    problems = []
    # A colon would make `ApiKey user:key` and HTTP Basic `user:password` ambiguous (RFC 7617 §2).
    if not username or len(username) > 150 or ":" in username or not username.isprintable():
        problems.append(FieldProblem(["username"], "must be 1 to 150 printable characters, without ':'"))
    if len(email) > 254 or not EMAIL.fullmatch(email):
        problems.append(FieldProblem(["email"], "must be an email address"))
    if not LANG.fullmatch(lang):
        problems.append(FieldProblem(["lang"], "must be a language code such as 'en' or 'fr'"))
    if password is not None and not 0 < len(password) <= MAX_PASSWORD_LENGTH:
        problems.append(FieldProblem(["password"], f"must be 1 to {MAX_PASSWORD_LENGTH} characters"))
    return problems


def create_user(
    session: Session, *, username: str, email: str, password: str | None = None, is_staff: bool = False,
    lang: str = "en", first_name: str = "", last_name: str = "", name: str = "",
) -> User:
    """A new user; without a password they can use API keys and platform-issued tokens only."""
    problems = _user_problems(username, email, lang, password)
    if problems:
        raise InvalidInput(problems)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        id=ids.next_local_id(session, User), username=username, email=email, is_staff=is_staff, lang=lang,
        first_name=first_name, last_name=last_name, name=name or f"{first_name} {last_name}".strip(),
        password_hash=security.hash_password(password) if password is not None else None,
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


def create_api_key(session: Session, user: User) -> str:
    """A new read-only API key for `user`, returned once."""
    key = security.new_token()
    session.add(ApiKey(user_id=user.id, key_hash=security.hash_token(key)))
    session.commit()
    return key


def create_client(session: Session, name: str) -> tuple[OAuthClient, str, str]:
    """A new OAuth client: (row, client_id, client_secret); the secret is returned once."""
    client_id, client_secret = security.new_token()[:32], security.new_token()
    client = OAuthClient(name=name, client_id=client_id, secret_hash=security.hash_token(client_secret))
    session.add(client)
    session.commit()
    return client, client_id, client_secret


def slug_of(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:200] or "project"


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: paths such as "../etc"
        return False
    return True


def create_project(
    session: Session, *, owner: User, name: str, currency: str = "EUR", timezone: str = "Europe/Paris",
    lang: str | None = None,
) -> Project:
    """A project of `owner`; its language defaults to the owner's."""
    lang = lang or owner.lang
    problems = []
    if not name.strip() or len(name) > 255:
        problems.append(FieldProblem(["name"], "must be 1 to 255 characters"))
    if not CURRENCY.fullmatch(currency):
        problems.append(FieldProblem(["currency"], "must be an ISO 4217 code such as 'EUR'"))
    if not valid_timezone(timezone):
        problems.append(FieldProblem(["timezone"], "must be an IANA time zone such as 'Europe/Paris'"))
    if not LANG.fullmatch(lang):
        problems.append(FieldProblem(["lang"], "must be a language code such as 'en' or 'fr'"))
    if problems:
        raise InvalidInput(problems)
    project = Project(id=ids.next_local_id(session, Project), owner_id=owner.id, name=name, slug=slug_of(name),
                      currency=currency, timezone=timezone, lang=lang)
    session.add(project)
    session.commit()
    return project


def issue_tokens(session: Session, user: User, client: OAuthClient | None,
                 settings: Settings) -> dict[str, Any]:
    """A new access/refresh pair for `user`: the token answer of SPEC §2 (RFC 6749 §5.1)."""
    access, refresh, now = security.new_token(), security.new_token(), utcnow()
    session.add(OAuthToken(
        user_id=user.id, client_id=client.id if client else None,
        access_hash=security.hash_token(access), refresh_hash=security.hash_token(refresh),
        access_expires_at=now + timedelta(seconds=settings.access_token_seconds),
        refresh_expires_at=now + timedelta(days=settings.refresh_token_days),
    ))
    session.commit()
    return {"access_token": access, "expires_in": settings.access_token_seconds, "refresh_token": refresh,
            "scope": SCOPE, "token_type": "Bearer"}


def authenticate_client(session: Session, client_id: str, client_secret: str) -> OAuthClient:
    client = security.client_for_secret(session, client_id, client_secret)
    if client is None:
        raise OAuthError("invalid_client", "Client authentication failed.")
    return client


def password_grant(session: Session, client: OAuthClient, username: str, password: str,
                   settings: Settings) -> dict[str, Any]:
    """RFC 6749 §4.3. Kept for Ulule clients although RFC 9700 advises against it."""
    user = session.scalar(select(User).where(User.username == username))
    # The read is over: its connection goes back to the pool for the hash, as for HTTP Basic
    # (api/deps.py PooledReads). A commit, not a rollback: that would expire `user` and the client.
    session.commit()
    checked = len(password) <= MAX_PASSWORD_LENGTH and security.verify_password(
        password, user.password_hash if user else None)
    if user is None or not checked:
        raise OAuthError("invalid_grant", "Invalid credentials given.", ["username", "password"])
    return issue_tokens(session, user, client, settings)


def refresh_grant(session: Session, client: OAuthClient, refresh_token: str,
                  settings: Settings) -> dict[str, Any]:
    """RFC 6749 §6 with rotation: each refresh token works once, and its access token dies with it.

    A second use of a rotated token means it leaked (RFC 9700 §4.14.2): every live token of that
    user for that client is revoked. Tokens issued to no client (by the platform) may be refreshed
    by any authenticated client; others only by their own.
    """
    row = security.token_for_refresh(session, refresh_token)
    now = utcnow()
    if row is None or (row.client_id is not None and row.client_id != client.id):
        raise OAuthError("invalid_grant", "Invalid refresh token.", ["refresh_token"])
    if row.revoked_at is not None:
        same_client = (OAuthToken.client_id.is_(None) if row.client_id is None
                       else OAuthToken.client_id == row.client_id)
        session.execute(update(OAuthToken).where(OAuthToken.user_id == row.user_id, same_client,
                                                 OAuthToken.revoked_at.is_(None)).values(revoked_at=now))
        session.commit()
        raise OAuthError("invalid_grant", "Refresh token already used.", ["refresh_token"])
    user = session.get(User, row.user_id)
    # Conditional: of two concurrent refreshes with one token, exactly one wins.
    won = session.execute(update(OAuthToken).where(OAuthToken.id == row.id, OAuthToken.revoked_at.is_(None))
                          .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
    if not won or user is None or row.refresh_expires_at <= now:
        session.commit()
        raise OAuthError("invalid_grant", "Invalid refresh token.", ["refresh_token"])
    return issue_tokens(session, user, client, settings)

