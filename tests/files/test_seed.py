from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdexports.ids import is_local
from crowdexports.models import Address, Order, OrderItem, Reward, User
from crowdexports.seed import STATUSES, seed_orders
from tests.factories import make_order, make_project, make_reward, make_user

SPEC_STATUSES = {"processing", "awaiting-confirmation", "payment-completed", "cancelled", "payment-done",
                 "payment-invalid", "payment-reimbursed", "error"}


def test_seed_makes_consistent_realistic_orders(session: Session) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Seeded", currency="JPY")
    calls: list[int] = []
    assert seed_orders(session, project.id, 400, progress=calls.append, seed=3) == 400
    assert calls == [400]

    orders = session.scalars(select(Order).where(Order.project_id == project.id)).all()
    assert len(orders) == 400
    items_by_order: dict[int, list[OrderItem]] = {}
    for item in session.scalars(select(OrderItem)):
        items_by_order.setdefault(item.order_id, []).append(item)
    rewards = session.scalars(select(Reward).where(Reward.project_id == project.id)).all()
    assert 3 <= len(rewards) <= 6
    assert all(reward.title.get("en") and reward.price > 0 for reward in rewards)
    assert any("<" in text for reward in rewards for text in reward.description.values())
    assert {item.reward_id for items in items_by_order.values() for item in items} <= {r.id for r in rewards}

    for order in orders:
        items = items_by_order.get(order.id, [])
        assert order.total == order.subtotal + order.shipping_total
        if items:
            assert order.subtotal == sum(item.line_total for item in items)
            assert all(item.line_total == item.unit_price * item.quantity for item in items)
            assert sum(item.line_shipping_total for item in items) == order.shipping_total
            assert order.shipping_address_id is not None
        else:
            assert order.subtotal > 0 and order.shipping_total == 0 and order.shipping_address_id is None
        assert order.billing_address_id is not None
        assert order.status in SPEC_STATUSES
        now = datetime.now(UTC)
        assert now - timedelta(days=200) < order.created_at <= now

    counts = Counter(len(items_by_order.get(order.id, [])) for order in orders)
    assert counts[0] >= 5 and counts[2] + counts[3] >= 20 and counts[1] > counts[2]
    assert len({order.status for order in orders}) >= 4
    assert len({order.payment_method for order in orders}) >= 3
    assert len({order.user_id for order in orders}) < 400  # some backers come back

    addresses = session.scalars(select(Address)).all()
    leading_zero = sum(address.postal_code.startswith("0") for address in addresses)
    assert leading_zero > 0.15 * len(addresses)  # the seed makes sure leading zeros are common
    assert {address.type for address in addresses} == {"personal", "business", "association"}
    assert all(address.entity_name for address in addresses if address.type != "personal")
    users = session.scalars(select(User).where(User.id != owner.id)).all()
    assert any(not user.name for user in users) and any(user.name for user in users)
    assert len({user.lang for user in users}) >= 5
    text = " ".join(f"{user.first_name} {user.last_name} {address.city}"
                    for user, address in zip(users, addresses, strict=False))
    assert any(ord(ch) > 0x2FF for ch in text)  # beyond Latin: CJK, Hebrew, Arabic...
    notes = [order.note for order in orders if order.note]
    assert 60 < len(notes) < 200
    assert any(note.startswith(("=", "+", "-", "@")) for note in notes)
    assert any("\n" in note or '"' in note or "," in note for note in notes)
    assert any(ord(ch) > 0xFFFF for note in notes for ch in note)  # emoji
    assert set(STATUSES) == SPEC_STATUSES


def test_seed_is_repeatable_and_adds_to_existing_data(session: Session) -> None:
    owner = make_user(session)
    first = make_project(session, owner, "First")
    second = make_project(session, owner, "Second")

    def fingerprint(project_id: int) -> list[tuple[object, ...]]:
        query = select(Order.status, Order.total, Order.note, Order.payment_method, User.first_name) \
            .join(User, User.id == Order.user_id).where(Order.project_id == project_id).order_by(Order.id)
        return [tuple(row) for row in session.execute(query)]

    seed_orders(session, first.id, 120, seed=5)
    seed_orders(session, second.id, 120, seed=5)
    assert fingerprint(first.id) == fingerprint(second.id)
    count_rewards = select(func.count()).select_from(Reward).where(Reward.project_id == first.id)
    rewards = session.scalar(count_rewards)
    seed_orders(session, first.id, 30, seed=6)  # more orders, same rewards, fresh ids
    assert session.scalar(count_rewards) == rewards
    assert session.scalar(select(func.count()).select_from(Order).where(Order.project_id == first.id)) == 150
    assert session.scalar(select(func.count()).select_from(Order)) == 270


def test_rows_added_after_a_seed_get_fresh_ids(session: Session) -> None:
    """The seed writes explicit ids, which PostgreSQL's sequences do not see. Its backers and orders have
    local ids (crowdexports.ids), which no sequence reaches; its addresses and items move the sequences
    past the ids they used."""
    owner = make_user(session)
    project = make_project(session, owner, "Seeded")
    reward = make_reward(session, project)
    seed_orders(session, project.id, 50, seed=2)
    seeded = {model: set(session.scalars(select(model.id))) for model in (User, Order)}
    assert all(is_local(order_id) for order_id in seeded[Order])
    highest = {model: session.scalars(select(func.max(model.id))).one() for model in (Address, OrderItem)}
    backer = make_user(session, "after-the-seed")
    order = make_order(session, project, backer, [(reward, 1)])
    item = session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).one()
    assert backer.id not in seeded[User] and order.id not in seeded[Order] and item.id > highest[OrderItem]
    assert order.shipping_address_id is not None and order.shipping_address_id > highest[Address]
