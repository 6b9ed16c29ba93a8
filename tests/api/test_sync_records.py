"""PUT /v1/users|projects|rewards/{id}: upserts by the platform's ids, whole resources, every field's
type and value checked with its name, exact amounts; a refused request writes nothing (SPEC §7)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.auth import accounts, credentials
from crowdexports.models import OAuthClient, Project, Reward, User
from tests.api.conftest import Account
from tests.api.syncing import problems, project_body, put, put_raw, reward_body, snapshot, user_body
from tests.factories import make_order, make_reward, make_user

USER_ID, PROJECT_ID, REWARD_ID = 501, 7001, 9001


def row(sessions: sessionmaker[Session], model: type[Any], row_id: int) -> Any:
    with sessions() as session:
        return session.get(model, row_id)


@pytest.fixture
def owner(client: TestClient, staff: Account) -> int:
    assert put(client, staff, "users", USER_ID, user_body()).status_code == 201
    return USER_ID


@pytest.fixture
def project(client: TestClient, staff: Account, owner: int) -> int:
    assert put(client, staff, "projects", PROJECT_ID, project_body(owner)).status_code == 201
    return PROJECT_ID


def currency_project(client: TestClient, staff: Account, owner: int, currency: str) -> int:
    project_id = {"EUR": 7101, "JPY": 7102, "KWD": 7103}[currency]
    assert put(client, staff, "projects", project_id, project_body(owner, currency=currency)).status_code == 201
    return project_id


def refused(client: TestClient, staff: Account, sessions: sessionmaker[Session], kind: str, resource_id: int,
            content: str) -> list[tuple[str, list[str]]]:
    """The problems of a PUT that must be a 400 and write nothing."""
    before = snapshot(sessions)
    response = put_raw(client, staff, kind, resource_id, content)
    assert response.status_code == 400, response.text
    assert all(error["message"] for error in response.json()["errors"])
    assert snapshot(sessions) == before
    return problems(response)


# Users


def test_a_user_is_created_then_the_same_body_changes_nothing(client: TestClient, staff: Account,
                                                              session_factory: sessionmaker[Session]) -> None:
    body = user_body(password="correct horse battery")
    created = put(client, staff, "users", USER_ID, body)
    assert created.status_code == 201, created.text
    assert created.json() == {"id": USER_ID, "username": "zoe", "email": "zoe@example.com", "first_name": "Zoé",
                              "last_name": "Durand", "name": "Zoé Durand", "lang": "fr", "is_staff": False,
                              "is_active": True, "has_password": True}
    stored = snapshot(session_factory)
    again = put(client, staff, "users", USER_ID, body)
    assert again.status_code == 200 and again.json() == created.json()
    assert snapshot(session_factory) == stored  # same count, same values, same password hash
    password_hash = row(session_factory, User, USER_ID).password_hash
    assert "correct horse" not in created.text + again.text and password_hash not in created.text
    assert credentials.verify_password("correct horse battery", password_hash)


def test_a_put_is_the_whole_user(client: TestClient, staff: Account, owner: int,
                                 session_factory: sessionmaker[Session]) -> None:
    """Fields left out take their defaults: a PUT replaces the user, it does not patch it."""
    response = put(client, staff, "users", owner, {"username": "zoe2", "email": "z@example.org"})
    assert response.status_code == 200, response.text
    user = row(session_factory, User, owner)
    assert (user.username, user.email, user.first_name, user.last_name, user.name, user.lang, user.is_staff) == (
        "zoe2", "z@example.org", "", "", "", "en", False)
    assert put(client, staff, "users", owner, user_body(name="Zo", is_staff=True)).json()["name"] == "Zo"
    assert row(session_factory, User, owner).is_staff is True


def test_null_optional_fields_take_their_defaults(client: TestClient, staff: Account,
                                                  session_factory: sessionmaker[Session]) -> None:
    body = {"username": "zoe", "email": "zoe@example.com", "first_name": None, "last_name": None, "name": None,
            "lang": None, "is_staff": None, "password": None}
    assert put(client, staff, "users", USER_ID, body).status_code == 201
    user = row(session_factory, User, USER_ID)
    assert (user.first_name, user.name, user.lang, user.is_staff, user.password_hash) == ("", "", "en", False, None)


def test_password_is_kept_when_absent_and_rehashed_only_when_new(
        client: TestClient, staff: Account, session_factory: sessionmaker[Session],
        oauth_client: tuple[OAuthClient, str, str]) -> None:
    assert put(client, staff, "users", USER_ID, user_body(password="first pass")).status_code == 201
    first = row(session_factory, User, USER_ID).password_hash
    assert put(client, staff, "users", USER_ID, user_body(first_name="Zo")).json()["has_password"] is True
    assert put(client, staff, "users", USER_ID, user_body(password=None)).status_code == 200
    assert put(client, staff, "users", USER_ID, user_body(password="first pass")).status_code == 200
    assert row(session_factory, User, USER_ID).password_hash == first
    assert put(client, staff, "users", USER_ID, user_body(password="second pass")).status_code == 200
    second = row(session_factory, User, USER_ID).password_hash
    assert second != first and credentials.verify_password("second pass", second)
    _, client_id, secret = oauth_client
    grant = {"grant_type": "password", "username": "zoe"}
    assert client.post("/oauth2/token/", auth=(client_id, secret),
                       data={**grant, "password": "first pass"}).status_code == 400
    assert client.post("/oauth2/token/", auth=(client_id, secret),
                       data={**grant, "password": "second pass"}).status_code == 200


def test_a_user_without_password_has_none(client: TestClient, staff: Account,
                                          session_factory: sessionmaker[Session]) -> None:
    assert put(client, staff, "users", USER_ID, user_body()).json()["has_password"] is False
    assert row(session_factory, User, USER_ID).password_hash is None


@pytest.mark.parametrize(("fields", "expected"), [
    ({"username": None, "email": None}, [("RequiredError", ["username"]), ("RequiredError", ["email"])]),
    ({"username": 5}, [("TypeError", ["username"])]),
    ({"username": ["zoe"]}, [("TypeError", ["username"])]),
    ({"username": ""}, [("ValueError", ["username"])]),
    ({"username": "zo:e"}, [("ValueError", ["username"])]),
    ({"username": "z" * 151}, [("ValueError", ["username"])]),
    ({"username": "zoe\tx"}, [("ValueError", ["username"])]),
    ({"username": "zoe\u200d"}, [("ValueError", ["username"])]),  # invisible in a header: not printable
    ({"email": "zoe"}, [("ValueError", ["email"])]),
    ({"email": "zoe@example"}, [("ValueError", ["email"])]),
    ({"email": "a" * 250 + "@x.fr"}, [("ValueError", ["email"])]),
    ({"email": "zoe\n@example.com"}, [("ValueError", ["email"])]),
    ({"first_name": 1}, [("TypeError", ["first_name"])]),
    ({"first_name": "z" * 151}, [("ValueError", ["first_name"])]),
    ({"last_name": "Du\nrand"}, [("ValueError", ["last_name"])]),
    ({"last_name": "Du\u2028rand"}, [("ValueError", ["last_name"])]),
    ({"name": "x" * 301}, [("ValueError", ["name"])]),
    ({"name": "bell\u0007"}, [("ValueError", ["name"])]),
    ({"name": "c1\u0085"}, [("ValueError", ["name"])]),
    ({"lang": "french"}, [("ValueError", ["lang"])]),
    ({"lang": 1}, [("TypeError", ["lang"])]),
    ({"is_staff": "yes"}, [("TypeError", ["is_staff"])]),
    ({"is_staff": 1}, [("TypeError", ["is_staff"])]),
    ({"password": ""}, [("ValueError", ["password"])]),
    ({"password": 123456}, [("TypeError", ["password"])]),
    ({"password": "p" * 1025}, [("ValueError", ["password"])]),
    ({"colour": "red"}, [("UnknownFieldError", ["colour"])]),
    ({"id": USER_ID}, [("PermissionError", ["id"])]),  # the URL's: read-only (test_field_permissions.py)
    ({"password_hash": "$argon2id$forged"}, [("UnknownFieldError", ["password_hash"])]),
    ({"username": 5, "email": "nope", "lang": "??", "extra": 1},
     [("UnknownFieldError", ["extra"]), ("TypeError", ["username"]), ("ValueError", ["email"]),
      ("ValueError", ["lang"])]),
])
def test_each_bad_user_field_is_named(client: TestClient, staff: Account, owner: int,
                                      session_factory: sessionmaker[Session], fields: dict[str, object],
                                      expected: list[tuple[str, list[str]]]) -> None:
    """Against an existing user: a refused update leaves the row as it was."""
    assert refused(client, staff, session_factory, "users", owner, json.dumps({**user_body(), **fields})) == expected


@pytest.mark.parametrize(("raw", "field"), [('"\\ud800"', "first_name"), ('"a\\udfffb"', "password"),
                                            ('"\\u0000"', "name"), ('"\\ud83d"', "last_name")])
def test_text_that_utf8_cannot_hold_is_refused(client: TestClient, staff: Account, owner: int,
                                               session_factory: sessionmaker[Session], raw: str, field: str) -> None:
    content = json.dumps(user_body())[:-1] + f', "{field}": {raw}}}'
    assert refused(client, staff, session_factory, "users", owner, content) == [("ValueError", [field])]


def test_an_unknown_field_name_is_shown_cut(client: TestClient, staff: Account, owner: int,
                                            session_factory: sessionmaker[Session]) -> None:
    found = refused(client, staff, session_factory, "users", owner, json.dumps({**user_body(), "k" * 5000: 1}))
    assert found == [("UnknownFieldError", ["k" * 100])]


@pytest.mark.parametrize("name", [
    "👨‍👩‍👧‍👦 Family", "مريم\u200f", "Ｚｏé", "e\u0301\u0301\u0301", "Jean\u00a0Dupont", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "李小龍",
    "O'Brien-Ñúñez", "=cmd|' /C calc'!A0", "\U000e0041tag", "z" * 150,
])
def test_real_names_in_any_script_are_stored_exactly(client: TestClient, staff: Account, name: str,
                                                     session_factory: sessionmaker[Session]) -> None:
    response = put(client, staff, "users", USER_ID, user_body("zoé-名", first_name=name, name=name[:150]))
    assert response.status_code == 201, response.text
    user = row(session_factory, User, USER_ID)
    assert (user.username, user.first_name, user.name) == ("zoé-名", name, name[:150])


def test_a_username_held_by_another_id_is_refused(client: TestClient, staff: Account, owner: int,
                                                  alice: Account, session_factory: sessionmaker[Session]) -> None:
    before = snapshot(session_factory)
    for target in (owner, 777):
        response = put(client, staff, "users", target, user_body("alice"))
        assert response.status_code == 400 and problems(response) == [("ValueError", ["username"])]
        assert str(alice.user.id) in response.json()["errors"][0]["message"]
    assert snapshot(session_factory) == before


# Projects


def test_a_project_is_created_then_the_same_body_changes_nothing(client: TestClient, staff: Account, owner: int,
                                                                 session_factory: sessionmaker[Session]) -> None:
    created = put(client, staff, "projects", PROJECT_ID, project_body(owner))
    assert created.status_code == 201, created.text
    assert created.json() == {"id": PROJECT_ID, "owner_id": owner, "name": "Été à Tokyo", "slug": "ete-a-tokyo",
                              "currency": "EUR", "timezone": "Europe/Paris", "lang": "fr"}
    stored = snapshot(session_factory)
    again = put(client, staff, "projects", PROJECT_ID, project_body(owner))
    assert again.status_code == 200 and again.json() == created.json()
    assert snapshot(session_factory) == stored
    moved = put(client, staff, "projects", PROJECT_ID, {"owner_id": owner, "name": "Kettle", "currency": "USD",
                                                        "slug": "my-kettle"})
    assert moved.status_code == 200
    assert moved.json() == {"id": PROJECT_ID, "owner_id": owner, "name": "Kettle", "slug": "my-kettle",
                            "currency": "USD", "timezone": "Europe/Paris", "lang": "en"}


@pytest.mark.parametrize(("fields", "expected"), [
    ({"owner_id": None, "name": None, "currency": None},
     [("RequiredError", ["owner_id"]), ("RequiredError", ["name"]), ("RequiredError", ["currency"])]),
    ({"owner_id": 999_999}, [("ValueError", ["owner_id"])]),
    ({"owner_id": "501"}, [("TypeError", ["owner_id"])]),
    ({"owner_id": True}, [("TypeError", ["owner_id"])]),
    ({"owner_id": 501.0}, [("TypeError", ["owner_id"])]),
    ({"owner_id": 0}, [("ValueError", ["owner_id"])]),
    ({"owner_id": 2**63}, [("ValueError", ["owner_id"])]),
    ({"name": "   "}, [("ValueError", ["name"])]),
    ({"name": "n" * 256}, [("ValueError", ["name"])]),
    ({"slug": "a\nb"}, [("ValueError", ["slug"])]),
    ({"currency": "eur"}, [("ValueError", ["currency"])]),
    ({"currency": "EURO"}, [("ValueError", ["currency"])]),
    ({"currency": 978}, [("TypeError", ["currency"])]),
    ({"timezone": "Mars/Olympus"}, [("ValueError", ["timezone"])]),
    ({"timezone": "../../etc/passwd"}, [("ValueError", ["timezone"])]),
    ({"lang": "EN"}, [("ValueError", ["lang"])]),
    ({"goal": 1000}, [("UnknownFieldError", ["goal"])]),
])
def test_each_bad_project_field_is_named(client: TestClient, staff: Account, project: int,
                                         session_factory: sessionmaker[Session], fields: dict[str, object],
                                         expected: list[tuple[str, list[str]]]) -> None:
    body = json.dumps({**project_body(USER_ID), **fields})
    assert refused(client, staff, session_factory, "projects", project, body) == expected


def test_currency_cannot_change_once_the_project_has_orders(client: TestClient, staff: Account, project: int,
                                                            session: Session,
                                                            session_factory: sessionmaker[Session]) -> None:
    stored = session.get_one(Project, project)
    make_order(session, stored, make_user(session), [(make_reward(session, stored), 1)])
    found = refused(client, staff, session_factory, "projects", project,
                    json.dumps(project_body(USER_ID, currency="USD")))
    assert found == [("ValueError", ["currency"])]
    assert put(client, staff, "projects", project, project_body(USER_ID, name="Renamed")).status_code == 200


def test_a_new_currency_keeps_the_number_of_reward_prices(client: TestClient, staff: Account, project: int,
                                                          session_factory: sessionmaker[Session]) -> None:
    assert put(client, staff, "rewards", REWARD_ID, reward_body(project, price="25")).status_code == 201
    assert put(client, staff, "rewards", REWARD_ID + 1, reward_body(project, price="25.50")).status_code == 201
    found = refused(client, staff, session_factory, "projects", project,
                    json.dumps(project_body(USER_ID, currency="JPY")))
    assert found == [("ValueError", ["currency"])]  # 25.50 cannot be written in yen
    assert put(client, staff, "rewards", REWARD_ID + 1, reward_body(project, price="26")).status_code == 200
    assert put(client, staff, "projects", project, project_body(USER_ID, currency="JPY")).status_code == 200
    assert row(session_factory, Reward, REWARD_ID).price == 25
    assert put(client, staff, "projects", project, project_body(USER_ID, currency="KWD")).status_code == 200
    assert row(session_factory, Reward, REWARD_ID).price == 25_000
    shown = client.put(f"/v1/rewards/{REWARD_ID + 1}", headers=staff.bearer, json=reward_body(project, price=26))
    assert shown.json()["price"] == "26.000" and shown.json()["currency"] == "KWD"


def test_a_project_id_clash_with_a_local_row_leaves_the_next_local_row_free(
        client: TestClient, staff: Account, owner: int, session: Session) -> None:
    """Ids of synced rows are the platform's: a row made here afterwards (`users create`, `projects
    create`) must not take one of them, on PostgreSQL either (its sequence does not see them)."""
    assert put(client, staff, "users", owner + 1, user_body("zed")).status_code == 201
    assert put(client, staff, "projects", PROJECT_ID, project_body(owner)).status_code == 201
    local_user = accounts.create_user(session, username="local", email="local@example.com")
    local_project = accounts.create_project(session, owner=local_user, name="Local")
    assert local_user.id > owner + 1 and local_project.id > PROJECT_ID
    local_reward = make_reward(session, local_project)
    assert put(client, staff, "rewards", local_reward.id + 10, reward_body(PROJECT_ID)).status_code == 201
    assert make_reward(session, local_project).id > local_reward.id + 10


# Rewards


def test_a_reward_is_created_then_the_same_body_changes_nothing(client: TestClient, staff: Account, project: int,
                                                                session_factory: sessionmaker[Session]) -> None:
    created = put(client, staff, "rewards", REWARD_ID, reward_body(project))
    assert created.status_code == 201, created.text
    assert created.json() == {"id": REWARD_ID, "project_id": project, "title": {"en": "Early bird", "fr": "Lève-tôt"},
                              "description": {"en": "<p>A <b>kettle</b></p>"}, "price": "12.50", "currency": "EUR"}
    stored = snapshot(session_factory)
    again = put(client, staff, "rewards", REWARD_ID, reward_body(project))
    assert again.status_code == 200 and again.json() == created.json()
    assert snapshot(session_factory) == stored
    reward = row(session_factory, Reward, REWARD_ID)
    assert (reward.price, reward.title["fr"]) == (1250, "Lève-tôt")
    bare = put(client, staff, "rewards", REWARD_ID, {"project_id": project, "price": 3, "title": None})
    assert bare.status_code == 200 and (bare.json()["title"], bare.json()["description"]) == ({}, {})


@pytest.mark.parametrize(("currency", "price", "minor"), [
    ("EUR", "12.5", 1250), ("EUR", '"12.50"', 1250), ("EUR", '"12.500"', 1250), ("EUR", "12.50", 1250),
    ("EUR", "0.1", 10), ("EUR", "0", 0), ("EUR", "-0.0", 0), ("EUR", "1E+2", 10000), ("EUR", '"7"', 700),
    ("EUR", "1234567890123456.78", 123456789012345678),  # a float would make it ...675
    ("EUR", "92233720368547758.07", 2**63 - 1),
    ("JPY", "1500", 1500), ("JPY", '"1500"', 1500), ("JPY", "1500.0", 1500),
    ("KWD", "1.234", 1234), ("KWD", '"0.001"', 1),
])
def test_prices_are_read_exactly_in_the_currency_minor_unit(client: TestClient, staff: Account, owner: int,
                                                            session_factory: sessionmaker[Session], currency: str,
                                                            price: str, minor: int) -> None:
    project_id = currency_project(client, staff, owner, currency)
    content = json.dumps(reward_body(project_id, price="PRICE")).replace('"PRICE"', price)
    response = put_raw(client, staff, "rewards", REWARD_ID, content)
    assert response.status_code == 201, response.text
    assert row(session_factory, Reward, REWARD_ID).price == minor


@pytest.mark.parametrize(("currency", "price", "expected"), [
    ("JPY", "12.5", ("ValueError", "JPY")), ("JPY", '"0.1"', ("ValueError", "JPY")),
    ("EUR", "12.345", ("ValueError", "EUR")), ("EUR", '"12.345"', ("ValueError", "EUR")),
    ("KWD", "1.2345", ("ValueError", "KWD")), ("EUR", "1e-999999999", ("ValueError", "decimals")),
    ("EUR", "1e999999999", ("ValueError", "too large")), ("EUR", "92233720368547758.08", ("ValueError", "too large")),
    ("EUR", "1" + "0" * 30, ("ValueError", "large")), ("EUR", '"1e3"', ("ValueError", "decimal number")),
    ("EUR", '"12,50"', ("ValueError", "decimal number")), ("EUR", '" 12.50"', ("ValueError", "decimal number")),
    ("EUR", '"NaN"', ("ValueError", "decimal number")), ("EUR", '"Infinity"', ("ValueError", "decimal number")),
    ("EUR", '""', ("ValueError", "decimal number")), ("EUR", "-1", ("ValueError", "negative")),
    ("EUR", "true", ("TypeError", "number")), ("EUR", "[12]", ("TypeError", "number")),
    ("EUR", '{"amount": 12}', ("TypeError", "number")), ("EUR", "null", ("RequiredError", "required")),
])
def test_bad_prices_are_refused_with_the_reason(client: TestClient, staff: Account, owner: int,
                                                session_factory: sessionmaker[Session], currency: str, price: str,
                                                expected: tuple[str, str]) -> None:
    project_id = currency_project(client, staff, owner, currency)
    content = json.dumps(reward_body(project_id, price="PRICE")).replace('"PRICE"', price)
    before = snapshot(session_factory)
    response = put_raw(client, staff, "rewards", REWARD_ID, content)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert (error["classification"], error["fieldNames"]) == (expected[0], ["price"])
    assert expected[1] in error["message"]
    assert snapshot(session_factory) == before


@pytest.mark.parametrize(("fields", "expected"), [
    ({"project_id": None, "price": None}, [("RequiredError", ["project_id"]), ("RequiredError", ["price"])]),
    ({"project_id": 424242}, [("ValueError", ["project_id"])]),  # price unchecked: its currency is unknown
    ({"project_id": "7001"}, [("TypeError", ["project_id"])]),
    ({"title": "Early bird"}, [("TypeError", ["title"])]),
    ({"title": ["Early bird"]}, [("TypeError", ["title"])]),
    ({"title": {"en": 5}}, [("TypeError", ["title"])]),
    ({"title": {"en": None}}, [("TypeError", ["title"])]),
    ({"title": {"xx-invalid-tag": "x", "not a lang": "y", "EN": "z"}},
     [("ValueError", ["title", "xx-invalid-tag"]), ("ValueError", ["title", "not a lang"]),
      ("ValueError", ["title", "EN"])]),
    ({"title": {"en": "a\u0000b"}}, [("ValueError", ["title", "en"])]),
    ({"description": {"fr": "\u001b[31m"}}, [("ValueError", ["description", "fr"])]),
    ({"title": {f"a{chr(97 + n // 26)}{chr(97 + n % 26)}": "x" for n in range(51)}}, [("ValueError", ["title"])]),
    ({"stock": 3}, [("UnknownFieldError", ["stock"])]),
])
def test_each_bad_reward_field_is_named(client: TestClient, staff: Account, project: int,
                                        session_factory: sessionmaker[Session], fields: dict[str, object],
                                        expected: list[tuple[str, list[str]]]) -> None:
    assert put(client, staff, "rewards", REWARD_ID, reward_body(project)).status_code == 201
    body = json.dumps({**reward_body(project), **fields})
    assert refused(client, staff, session_factory, "rewards", REWARD_ID, body) == expected


def test_reward_texts_keep_html_lines_and_any_script(client: TestClient, staff: Account, project: int,
                                                     session_factory: sessionmaker[Session]) -> None:
    description = {"en": "<ul>\r\n\t<li>A <i>kettle</i></li>\n</ul>", "ar": "غلاية\u200f", "zh-Hant": "水壺 👨‍🍳"}
    response = put(client, staff, "rewards", REWARD_ID, reward_body(project, description=description))
    assert response.status_code == 201, response.text
    assert row(session_factory, Reward, REWARD_ID).description == description


def test_a_reward_in_orders_stays_in_its_project(client: TestClient, staff: Account, owner: int, project: int,
                                                 session: Session, session_factory: sessionmaker[Session]) -> None:
    other = currency_project(client, staff, owner, "EUR")
    assert put(client, staff, "rewards", REWARD_ID, reward_body(project)).status_code == 201
    assert put(client, staff, "rewards", REWARD_ID, reward_body(other)).status_code == 200  # no orders yet: moves
    assert put(client, staff, "rewards", REWARD_ID, reward_body(project)).status_code == 200
    make_order(session, session.get_one(Project, project), make_user(session),
               [(session.get_one(Reward, REWARD_ID), 2)])
    found = refused(client, staff, session_factory, "rewards", REWARD_ID, json.dumps(reward_body(other)))
    assert found == [("ValueError", ["project_id"])]
    assert put(client, staff, "rewards", REWARD_ID, reward_body(project, price=13)).status_code == 200
