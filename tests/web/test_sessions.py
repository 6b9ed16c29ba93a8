"""Server-side sessions (web/sessions.py): stored as hashes, ended by time, idleness, sign-out,
deactivation and a password change."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.auth.accounts import revoke_tokens
from crowdexports.auth.credentials import hash_token
from crowdexports.models import User, UserRecord, WebSession, utcnow
from crowdexports.web import sessions
from tests.web.conftest import Person


def _record(user: User) -> UserRecord:
    return UserRecord(user.id, user.username, user.email, user.first_name, user.last_name, user.name, user.lang,
                      user.is_staff)


def _start(session: Session, person: Person) -> str:
    return sessions.start(session, _record(person.user), person.user.password_hash, "en")


def test_only_the_tokens_hash_is_stored_and_the_token_finds_its_user(session: Session, olga: Person) -> None:
    token = _start(session, olga)
    row = session.scalars(select(WebSession)).one()
    assert row.token_hash == hash_token(token) and token not in (row.token_hash, row.password_fingerprint)
    found = sessions.find(session, token)
    assert found is not None and found.user.username == "olga" and found.lang == "en"
    assert sessions.find(session, token + "x") is None and sessions.find(session, "") is None


def test_a_session_ends_after_its_lifetime_and_after_idleness(session: Session, olga: Person) -> None:
    start = utcnow()
    token = sessions.start(session, _record(olga.user), olga.user.password_hash, "en", now=start)
    step = sessions.IDLE - timedelta(minutes=1)
    moment = start
    while moment + step < start + sessions.LIFETIME:  # kept alive by visits within the idle timeout...
        moment += step
        assert sessions.find(session, token, now=moment) is not None
    assert sessions.find(session, token, now=start + sessions.LIFETIME) is None  # ...until its lifetime
    idle = sessions.start(session, _record(olga.user), olga.user.password_hash, "en", now=start)
    assert sessions.find(session, idle, now=start + sessions.IDLE) is None


def test_visits_are_written_at_most_once_a_minute(session: Session, olga: Person) -> None:
    start = utcnow()
    token = sessions.start(session, _record(olga.user), olga.user.password_hash, "en", now=start)
    sessions.find(session, token, now=start + timedelta(seconds=30))
    assert session.scalars(select(WebSession.last_seen_at)).one() == start
    sessions.find(session, token, now=start + sessions.TOUCH_EVERY)
    assert session.scalars(select(WebSession.last_seen_at)).one() == start + sessions.TOUCH_EVERY


def test_sign_out_deactivation_and_a_password_change_each_end_a_session(session: Session, olga: Person) -> None:
    signed_out = _start(session, olga)
    found = sessions.find(session, signed_out)
    assert found is not None
    sessions.end(session, found.session_id)
    assert sessions.find(session, signed_out) is None

    token = _start(session, olga)
    olga.user.is_active = False
    session.commit()
    assert sessions.find(session, token) is None
    olga.user.is_active = True
    session.commit()
    assert sessions.find(session, token) is not None  # a suspension, as for tokens and API keys
    olga.user.password_hash = "another hash"
    session.commit()
    assert sessions.find(session, token) is None


def test_revoking_a_users_tokens_signs_them_out_of_the_page_too(session: Session, olga: Person,
                                                                 boris: Person) -> None:
    """`users revoke-tokens` and `POST /v1/users/{id}/tokens/revoke` both call accounts.revoke_tokens."""
    hers, his = _start(session, olga), _start(session, boris)
    revoke_tokens(session, olga.user.id)
    session.commit()
    assert sessions.find(session, hers) is None
    assert sessions.find(session, his) is not None  # another user's stays
