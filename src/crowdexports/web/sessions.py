"""Server-side sessions of the web page: a row per signed-in browser, found by the hash of its cookie.

The cookie holds a random token (`credentials.new_token`); the database keeps only its SHA-256, as for
API keys, so a copy of the database signs no one in. A session ends at the first of: `LIFETIME` after
sign-in, `IDLE` without a request, sign-out, the user's deactivation, or a change of their password
(the row keeps a fingerprint of the hash it was opened with). Rows are in the database, not in a signed
cookie, so that each of these ends it at once on every API process (docs/web.md).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crowdexports.auth.credentials import hash_token, new_token
from crowdexports.models import USER_RECORD_COLUMNS, User, UserRecord, WebSession, utcnow

LIFETIME = timedelta(hours=12)  # a working day: sign in once in the morning
IDLE = timedelta(hours=2)  # a browser left open and unused is signed out
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often: not a write per request
COOKIE = "crowdexports_session"
COOKIE_PATH = "/web"  # the API never sees it


@dataclass(frozen=True)
class SignedIn:
    """Who a request's session belongs to, and the page's language for them."""

    session_id: int
    token: str
    user: UserRecord
    lang: str


def password_fingerprint(password_hash: str | None) -> str:
    """What a session remembers of the password it was opened with: a change of it ends the session."""
    return hash_token(password_hash or "")


def start(session: Session, user: UserRecord, password_hash: str | None, lang: str,
          now: datetime | None = None) -> str:
    """A new session for `user`, who just proved their password; the token for the cookie."""
    now = now or utcnow()
    token = new_token()
    session.add(WebSession(user_id=user.id, token_hash=hash_token(token), lang=lang,
                           password_fingerprint=password_fingerprint(password_hash),
                           created_at=now, last_seen_at=now, expires_at=now + LIFETIME))
    session.commit()
    return token


_FIND = (select(WebSession.id, WebSession.token_hash, WebSession.password_fingerprint, WebSession.lang,
                WebSession.last_seen_at, WebSession.expires_at, User.password_hash, *USER_RECORD_COLUMNS)
         .join(User, User.id == WebSession.user_id)
         .where(WebSession.revoked_at.is_(None), User.is_active))


def find(session: Session, token: str, now: datetime | None = None) -> SignedIn | None:
    """The live session of `token`, or None (unknown, expired, idle, revoked, user inactive, password
    changed). Notes the request as the session's last activity, at most once per TOUCH_EVERY."""
    now = now or utcnow()
    row = session.execute(_FIND.where(WebSession.token_hash == hash_token(token))).first() if token else None
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
        return None
    if row.expires_at <= now or row.last_seen_at + IDLE <= now:
        return None
    if not hmac.compare_digest(row.password_fingerprint, password_fingerprint(row.password_hash)):
        return None
    if row.last_seen_at + TOUCH_EVERY <= now:
        session.execute(update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now))
        session.commit()
    return SignedIn(row.id, token, UserRecord(*row[-len(USER_RECORD_COLUMNS):]), row.lang)


def end(session: Session, session_id: int) -> None:
    """Sign-out: the row is kept, revoked, for an audit of who was signed in when."""
    session.execute(update(WebSession).where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
    session.commit()


def switch_language(session: Session, session_id: int, lang: str) -> None:
    session.execute(update(WebSession).where(WebSession.id == session_id).values(lang=lang))
    session.commit()
