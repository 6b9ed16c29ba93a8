"""accounts: the checks the CLI and the API rely on when they create users and projects."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from crowdexports.auth import accounts, credentials
from crowdexports.errors import Conflict, InvalidInput, NotFound
from tests.api.conftest import Account


def problems(exc: pytest.ExceptionInfo[InvalidInput]) -> list[list[str]]:
    return sorted(problem.field_names for problem in exc.value.problems)


def test_create_user_refuses_a_taken_username_and_bad_fields(session: Session, alice: Account) -> None:
    with pytest.raises(Conflict):
        accounts.create_user(session, username="alice", email="other@example.com")
    with pytest.raises(InvalidInput) as bad:
        accounts.create_user(session, username="a:b", email="not-an-email", lang="english", password="")
    assert problems(bad) == [["email"], ["lang"], ["password"], ["username"]]
    assert accounts.find_user(session, "alice").id == alice.user.id
    with pytest.raises(NotFound):
        accounts.find_user(session, "nobody")


def test_a_created_password_verifies_and_only_its_hash_is_kept(session: Session) -> None:
    user = accounts.create_user(session, username="dora", email="dora@example.com", password="s3cret pass")
    assert user.password_hash is not None and "s3cret" not in user.password_hash
    assert credentials.verify_password("s3cret pass", user.password_hash)
    assert not credentials.verify_password("s3cret pasS", user.password_hash)
    assert not credentials.verify_password("s3cret pass", None)


def test_create_project_checks_currency_timezone_and_lang(session: Session, alice: Account) -> None:
    with pytest.raises(InvalidInput) as bad:
        accounts.create_project(session, owner=alice.user, name=" ", currency="eur", timezone="../etc/passwd",
                                lang="French")
    assert problems(bad) == [["currency"], ["lang"], ["name"], ["timezone"]]
    with pytest.raises(InvalidInput):
        accounts.create_project(session, owner=alice.user, name="x", timezone="Mars/Olympus_Mons")
    project = accounts.create_project(session, owner=alice.user, name="Été à Tōkyō: the *best* kettle!",
                                      currency="JPY", timezone="Asia/Tokyo")
    assert project.slug == "ete-a-tokyo-the-best-kettle"
    assert (project.lang, project.owner_id) == ("en", alice.user.id)


@pytest.mark.parametrize(("fields", "field_names"), [
    ({"first_name": "z" * 151}, ["first_name"]),
    ({"name": "Zoé\nDurand"}, ["name"]),
    ({"email": "a" * 250 + "@x.fr"}, ["email"]),
    ({"lang": "abc-abcdefgh"}, ["lang"]),  # a language code, but longer than the column
    ({"password": "pass\x00word"}, ["password"]),
    ({"username": "zoe\u2028"}, ["username"]),
])
def test_create_user_checks_every_field_as_the_sync_does(session: Session, fields: dict[str, Any],
                                                          field_names: list[str]) -> None:
    """One owner of the rules (crowdexports.rules.users): a user made here is held to a synced one's."""
    with pytest.raises(InvalidInput) as bad:
        accounts.create_user(session, **{"username": "zoe", "email": "zoe@example.com", **fields})
    assert problems(bad) == [field_names]


def test_create_project_checks_the_name_as_the_sync_does(session: Session, alice: Account) -> None:
    with pytest.raises(InvalidInput) as bad:
        accounts.create_project(session, owner=alice.user, name="Solar\nKettle")
    assert problems(bad) == [["name"]]
