"""POST /v1/projects/{id}/orders/import over the real app and database: access, upserts in place,
idempotence, all-or-nothing with every bad line reported, the body limit, reward texts in the export."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crowdexports.api.app import create_app
from crowdexports.auth import accounts
from crowdexports.models import Address, Order, OrderItem, Project, Reward, User
from crowdexports.runtime import Runtime
from tests.api.conftest import Account, ignore_dispatch
from tests.api.order_lines import (
    Number,
    address,
    answer,
    counts,
    item,
    ndjson,
    order,
    orphan_addresses,
    post_import,
    user,
)
from tests.api.syncing import put, user_body
from tests.factories import make_order, make_reward, make_user
from tests.files.expect import write_both

IMPORTED = (Order, OrderItem, Address, User)


def snapshot(sessions: sessionmaker[Session]) -> dict[str, list[dict[str, Any]]]:
    """Every row, ids included, of the tables an import writes, read afresh."""
    with sessions() as session:
        return {model.__tablename__: [
            {column.key: getattr(row, column.key) for column in model.__mapper__.columns}
            for row in session.scalars(select(model).order_by(model.id))] for model in IMPORTED}


def problems(response: Any) -> list[tuple[str, list[str]]]:
    return [(error["classification"], error["fieldNames"]) for error in response.json()["errors"]]


def test_only_staff_with_a_bearer_token_may_import(client: TestClient, session: Session, staff: Account,
                                                   alice: Account, project_a: Project) -> None:
    body = ndjson(order(1))
    assert post_import(client, None, project_a.id, body).status_code == 401
    owner = post_import(client, alice, project_a.id, body)
    assert owner.status_code == 403 and owner.json()["errors"][0]["classification"] == "PermissionError"
    read_only = client.post(f"/v1/projects/{project_a.id}/orders/import", content=body,
                            headers={"Content-Type": "application/x-ndjson", **staff.apikey})
    assert read_only.status_code == 403
    assert post_import(client, staff, 987654, body).status_code == 404
    assert post_import(client, staff, "abc", body).status_code == 404
    assert post_import(client, staff, project_a.id, body, "application/json").status_code == 415
    assert counts(session)["orders"] == 0


def test_an_import_creates_and_the_same_import_again_changes_nothing(
        client: TestClient, session: Session, session_factory: sessionmaker[Session], staff: Account,
        project_a: Project) -> None:
    kettle, mug = make_reward(session, project_a, 2500, "Kettle"), make_reward(session, project_a, 900, "Mug")
    body = ndjson(
        order(1, items=[item(kettle.id, 2, "25.00"), item(mug.id, 1, "9.00")], order_total=Number("61.5"),
              order_subtotal=Number("59"), order_shipping_total="2.50", note="Leave it\nat the door"),
        order(2, shipping_address=None, order_total="5", order_subtotal="5", order_shipping_total=0),
        "",  # blank lines are skipped, and counted in line numbers
        order(3, user_id=1001, items=[item(mug.id)], tracking=None,  # the user embedded on line 1
              billing_address=address(country="", type=None, address2=None)),
        order(8, items=[item(mug.id)], billing_address=address(country="de", type="business", entity_name="ACME")),
    )
    first = answer(post_import(client, staff, project_a.id, body))
    assert first == {"lines": 5, "blank_lines": 1, "orders": {"created": 4, "updated": 0, "unchanged": 0},
                     "users": {"created": 2, "updated": 0, "unchanged": 1}}  # line 4 names line 1's user again
    before = snapshot(session_factory)

    with session_factory() as fresh:
        one = fresh.get_one(Order, 1)
        assert one.project_id == project_a.id and one.user_id == 1001
        assert one.created_at == datetime(2026, 3, 1, 9, 1, tzinfo=UTC)
        assert (one.total, one.subtotal, one.shipping_total) == (6150, 5900, 250)
        assert (one.note, one.status, one.payment_method) == (
            "Leave it\nat the door", "payment-completed", "creditcard")
        assert (one.tracking_source, one.tracking_medium) == ("newsletter", "email")
        assert [(i.reward_id, i.quantity, i.unit_price, i.line_total) for i in fresh.scalars(
            select(OrderItem).where(OrderItem.order_id == 1).order_by(OrderItem.id))] == [
            (kettle.id, 2, 2500, 5000), (mug.id, 1, 900, 900)]
        shipping = fresh.get_one(Address, one.shipping_address_id)
        assert (shipping.address_1, shipping.postal_code, shipping.country, shipping.phone_number) == (
            "1 rue de Rivoli", "01000", "FR", "+33 6 00 00 00 00")
        assert fresh.get_one(Order, 2).shipping_address_id is None
        three = fresh.get_one(Order, 3)
        assert (three.user_id, three.tracking_source) == (1001, "")
        unknown = fresh.get_one(Address, three.billing_address_id)
        assert (unknown.country, unknown.type, unknown.address_2) == ("", "personal", "")
        billing = fresh.get_one(Address, fresh.get_one(Order, 8).billing_address_id)
        assert (billing.country, billing.type, billing.entity_name) == ("DE", "business", "ACME")
        backer = fresh.get_one(User, 1001)
        assert (backer.username, backer.email, backer.name, backer.lang) == (
            "backer1001", "backer1001@example.com", "Zoé Durand", "fr")
        assert not backer.is_staff and backer.password_hash is None

    again = answer(post_import(client, staff, project_a.id, body))
    assert again == {"lines": 5, "blank_lines": 1, "orders": {"created": 0, "updated": 0, "unchanged": 4},
                     "users": {"created": 0, "updated": 0, "unchanged": 3}}
    assert snapshot(session_factory) == before  # every row and id as it was: no duplicate items or addresses


def test_a_changed_order_is_updated_in_place_and_leaves_no_orphan_address(
        client: TestClient, session: Session, session_factory: sessionmaker[Session], staff: Account,
        project_a: Project) -> None:
    kettle, mug = make_reward(session, project_a, 2500, "Kettle"), make_reward(session, project_a, 900, "Mug")
    answer(post_import(client, staff, project_a.id, ndjson(
        order(1, items=[item(kettle.id), item(mug.id), item(kettle.id, 3, "20.00")], note="before"),
        order(2, shipping_address=None, items=[item(mug.id)]))))
    with session_factory() as fresh:
        old = fresh.get_one(Order, 1)
        old_shipping, old_billing = old.shipping_address_id, old.billing_address_id
    changed = answer(post_import(client, staff, project_a.id, ndjson(
        order(1, items=[item(mug.id, 4, "8.00")], shipping_address=None, note="after", status="payment-reimbursed",
              billing_address=address(city="Lyon", type="business", entity_name="ACME")),
        order(2, shipping_address=address(city="Nantes")))))
    assert changed["orders"] == {"created": 0, "updated": 2, "unchanged": 0}

    with session_factory() as fresh:
        one, two = fresh.get_one(Order, 1), fresh.get_one(Order, 2)
        assert (one.note, one.status, one.shipping_address_id) == ("after", "payment-reimbursed", None)
        assert one.billing_address_id == old_billing  # its own row, updated in place
        billing = fresh.get_one(Address, old_billing)
        assert (billing.city, billing.type, billing.entity_name) == ("Lyon", "business", "ACME")
        assert fresh.get(Address, old_shipping) is None  # dropped with the order's shipping address
        assert [(i.reward_id, i.quantity, i.unit_price, i.line_total) for i in fresh.scalars(
            select(OrderItem).where(OrderItem.order_id == 1))] == [(mug.id, 4, 800, 3200)]
        assert fresh.scalars(select(OrderItem).where(OrderItem.order_id == 2)).all() == []
        assert fresh.get_one(Address, two.shipping_address_id).city == "Nantes"
        assert orphan_addresses(fresh) == 0
        assert counts(fresh) == {"orders": 2, "order_items": 1, "addresses": 3, "users": 2 + 2}


def test_every_bad_line_is_reported_and_nothing_is_written(
        client: TestClient, session: Session, session_factory: sessionmaker[Session], staff: Account,
        alice: Account, bob: Account, project_a: Project, project_b: Project) -> None:
    kettle, elsewhere = make_reward(session, project_a), make_reward(session, project_b)
    foreign = make_order(session, project_b, make_user(session, "carol"), [])
    before = snapshot(session_factory)
    body = ndjson(
        order(101, items=[item(kettle.id)]),  # good, and not written either
        '{"id": 102, "user_id": ',
        "   ",
        order(104, items=[item(kettle.id, 0)]),
        order(105, items=[item(kettle.id), item(elsewhere.id)]),
        order(106, items=[item(987654)]),
        order(foreign.id),
        order(108, order_total="12.505"),
        order(109, created_at="2026-03-01T10:00:00"),
        order(110, status="paid"),
        order(111, billing_address=address(country="ZZ")),
        order(112, user_id=424242),
        {key: value for key, value in order(113).items() if key != "user"},
        order(114, order_total=Number("1e400"), order_subtotal=True),
        order(115, user=user(1015, username="alice")),
        "[1, 2]",
        order(117, note="a\x00b", shipping_address=address(postal_code="750\n01")),
        order(118, items=[item(kettle.id, unit_price="-1.00", line_total="1.00")], order_shipping_total=Number("0.1")),
    )
    response = post_import(client, staff, project_a.id, body)
    assert response.status_code == 400, response.text
    assert problems(response) == [
        ("DeserializationError", ["line 2"]),
        ("ValueError", ["line 4", "items", "0", "quantity"]),
        ("ValueError", ["line 5", "items", "1", "reward_id"]),
        ("ValueError", ["line 6", "items", "0", "reward_id"]),
        ("ValueError", ["line 7", "id"]),
        ("ValueError", ["line 8", "order_total"]),
        ("ValueError", ["line 9", "created_at"]),
        ("ValueError", ["line 10", "status"]),
        ("ValueError", ["line 11", "billing_address", "country"]),
        ("ValueError", ["line 12", "user_id"]),
        ("RequiredError", ["line 13", "user"]),
        ("ValueError", ["line 14", "order_total"]),
        ("TypeError", ["line 14", "order_subtotal"]),
        ("ValueError", ["line 15", "user", "username"]),
        ("TypeError", ["line 16"]),
        ("ValueError", ["line 17", "note"]),
        ("ValueError", ["line 17", "shipping_address", "postal_code"]),
        ("ValueError", ["line 18", "items", "0", "unit_price"]),
    ]
    messages = {tuple(error["fieldNames"]): error["message"] for error in response.json()["errors"]}
    assert messages[("line 5", "items", "1", "reward_id")] == (
        f"is reward {elsewhere.id} of project {project_b.id}, not of this project")
    assert messages[("line 7", "id")] == f"is order {foreign.id} of project {project_b.id}, not of this project"
    assert messages[("line 8", "order_total")] == "has more decimals than EUR has (2)"
    assert messages[("line 15", "user", "username")] == f"is already the username of user {alice.user.id}"
    assert snapshot(session_factory) == before


def test_amounts_are_exact_in_the_project_currency(client: TestClient, session: Session, staff: Account,
                                                    alice: Account) -> None:
    yen = accounts.create_project(session, owner=alice.user, name="Tokyo", currency="JPY", timezone="Asia/Tokyo")
    dinar = accounts.create_project(session, owner=alice.user, name="Kuwait", currency="KWD")
    yen_amounts: dict[str, Any] = {"order_subtotal": "1500", "order_shipping_total": Number("0")}
    refused = post_import(client, staff, yen.id, ndjson(order(1, order_total=Number("1500.5"), **yen_amounts),
                                                         order(2, order_total="1500.50", **yen_amounts)))
    assert problems(refused) == [("ValueError", ["line 1", "order_total"]), ("ValueError", ["line 2", "order_total"])]
    answer(post_import(client, staff, yen.id, ndjson(order(1, order_total=Number("1500.0"), order_subtotal=1500,
                                                           order_shipping_total="0"))))
    answer(post_import(client, staff, dinar.id, ndjson(order(2, order_total=Number("0.3"), order_subtotal="0.1",
                                                             order_shipping_total=Number("0.2")))))
    session.expire_all()
    assert (session.get_one(Order, 1).total, session.get_one(Order, 1).subtotal) == (1500, 1500)
    kwd = session.get_one(Order, 2)
    assert (kwd.total, kwd.subtotal, kwd.shipping_total) == (300, 100, 200)


def test_an_order_is_updated_when_only_an_address_or_an_item_changes(
        client: TestClient, session: Session, staff: Account, project_a: Project) -> None:
    kettle = make_reward(session, project_a)
    answer(post_import(client, staff, project_a.id, ndjson(order(1, items=[item(kettle.id)]), order(2))))
    moved = ndjson(order(1, items=[item(kettle.id, 2, "50.00")]), order(2, billing_address=address(city="Lyon")))
    assert answer(post_import(client, staff, project_a.id, moved))["orders"] == {
        "created": 0, "updated": 2, "unchanged": 0}
    assert answer(post_import(client, staff, project_a.id, moved))["orders"] == {
        "created": 0, "updated": 0, "unchanged": 2}


def test_embedded_users_never_change_anyone_s_access(client: TestClient, session_factory: sessionmaker[Session],
                                                     staff: Account, project_a: Project) -> None:
    """A synced staff account keeps its profile and access; a user made by an import is not staff and has
    no password (`is_staff` and `password` in a line are refused: tests/api/test_field_permissions.py)."""
    assert put(client, staff, "users", 600, user_body("oldstaff", is_staff=True)).status_code == 201
    assert put(client, staff, "users", 601, user_body("olduser")).status_code == 201
    body = ndjson(
        order(1, user=user(600, username="hijack", email="hijack@example.com")),
        order(2, user=user(5005)),
        order(3, user=user(601, username="olduser", email="new@example.com", lang="de")),
    )
    assert answer(post_import(client, staff, project_a.id, body))["users"] == {  # staff's profile is kept
        "created": 1, "updated": 1, "unchanged": 1}
    with session_factory() as fresh:
        kept = fresh.get_one(User, 600)
        assert (kept.username, kept.email, kept.is_staff) == ("oldstaff", "oldstaff@example.com", True)
        made = fresh.get_one(User, 5005)
        assert not made.is_staff and made.password_hash is None
        assert (fresh.get_one(User, 601).email, fresh.get_one(User, 601).lang) == ("new@example.com", "de")
        assert fresh.get_one(Order, 1).user_id == 600


def test_lines_apply_in_order_within_one_request(client: TestClient, session_factory: sessionmaker[Session],
                                                 session: Session, staff: Account, project_a: Project) -> None:
    kettle = make_reward(session, project_a)
    body = ndjson(order(1, note="first", items=[item(kettle.id), item(kettle.id)]),
                  order(2, user=user(77, email="old@example.com")),
                  order(1, note="second", items=[item(kettle.id, 5)]),
                  order(3, user=user(77, email="new@example.com")))
    assert answer(post_import(client, staff, project_a.id, body))["orders"] == {
        "created": 3, "updated": 1, "unchanged": 0}
    with session_factory() as fresh:
        assert fresh.get_one(Order, 1).note == "second"
        assert [i.quantity for i in fresh.scalars(select(OrderItem).where(OrderItem.order_id == 1))] == [5]
        assert fresh.get_one(User, 77).email == "new@example.com"


def test_imports_take_large_bodies_up_to_their_own_limit(client: TestClient, runtime: Runtime, staff: Account,
                                                         alice: Account, project_a: Project) -> None:
    kettle_id = make_reward_id(runtime, project_a)
    body = ndjson(*(order(number, items=[item(kettle_id)], note="x" * 300) for number in range(1, 301)))
    assert len(body) > 4 * runtime.settings.max_body_bytes  # far past the limit of other requests
    assert answer(post_import(client, staff, project_a.id, body))["orders"]["created"] == 300
    other = client.post(f"/v1/projects/{project_a.id}/exports", content=b" " * (runtime.settings.max_body_bytes + 1),
                        headers={"Content-Type": "application/json", **alice.bearer})
    assert other.status_code == 413

    small = dataclasses.replace(runtime, settings=runtime.settings.model_copy(update={"max_import_bytes": 100_000}))
    with TestClient(create_app(small, ignore_dispatch)) as limited:
        declared = post_import(limited, staff, project_a.id, body)
        assert declared.status_code == 413 and declared.json()["errors"][0]["classification"] == "PayloadTooLargeError"
        chunked = limited.post(f"/v1/projects/{project_a.id}/orders/import",
                               content=iter([body[:60_000], body[60_000:]]),
                               headers={"Content-Type": "application/x-ndjson", **staff.bearer})
        assert chunked.status_code == 413
        assert answer(post_import(limited, staff, project_a.id, ndjson(order(999, items=[item(kettle_id)]))))


def make_reward_id(runtime: Runtime, project: Project) -> int:
    with runtime.sessions() as session:
        return make_reward(session, project).id


def test_an_empty_body_is_refused(client: TestClient, staff: Account, project_a: Project) -> None:
    response = post_import(client, staff, project_a.id, b"\n \n")
    assert problems(response) == [("DeserializationError", [])]


@pytest.mark.parametrize("reader_lang", ["fr", "en"])
def test_imported_orders_export_reward_texts_in_the_reader_s_language(
        client: TestClient, session: Session, staff: Account, alice: Account, tmp_path: Path,
        reader_lang: str) -> None:
    project = accounts.create_project(session, owner=alice.user, name="Kettle", lang="de")
    texts = [  # (description, expected for fr, expected for en): the reader's language, then the project's, then any
        ({"fr": "<p>Bouilloire &amp; tasse</p><p>2<sup>e</sup> ligne</p>", "en": "<b>Kettle</b> &lt;3", "de": "Kessel"},
         "Bouilloire & tasse\n2e ligne", "Kettle <3"),
        ({"de": "<ul><li>Nur</li><li>Deutsch</li></ul>", "es": "Solo español"}, "Nur\nDeutsch", "Nur\nDeutsch"),
        ({"es": "<i>Solo</i> español"}, "Solo español", "Solo español"),
        ({}, "", ""),
    ]
    rewards = []
    for description, _fr, _en in texts:
        reward = Reward(project_id=project.id, title={"en": "T"}, description=description, price=100)
        session.add(reward)
        session.commit()
        rewards.append(reward.id)
    body = ndjson(*(order(number, items=[item(reward_id)]) for number, reward_id in enumerate(rewards, 1)))
    answer(post_import(client, staff, project.id, body))
    session.expire_all()
    written = write_both(session, project, tmp_path, lang=reader_lang,
                         requested={"order.id": "id", "order.reward.description": "description"})
    with written.csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    expected = [fr if reader_lang == "fr" else en for _description, fr, en in texts]
    assert rows == [[str(number), text] for number, text in enumerate(expected, 1)]
