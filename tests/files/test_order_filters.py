"""The orders export's filters (issue 15) against an oracle: orders seeded here with known statuses,
rewards, shipping countries and instants around local midnight and the autumn DST change, the expected
(order, reward) rows computed in plain Python from those facts (created compared in local wall time,
not as the SQL does in UTC), and the rows read back from the csv the real path writes."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from crowdexports.exports.requests import validate_export_request
from crowdexports.exports.types.base import ExportContext
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.models import Address, Order, OrderItem, Project
from crowdexports.rules.orders import STATUSES
from tests.conftest import Stack
from tests.factories import make_project, make_reward, make_user
from tests.files.conftest import module_session
from tests.files.expect import read_csv

ZONE = ZoneInfo("Europe/Paris")
COUNTRIES = ("FR", "US", "DE", None)  # None: no shipping address


@dataclass(frozen=True)
class Seeded:
    id: int
    status: str
    created_at: datetime  # aware UTC
    country: str | None
    rewards: tuple[int, ...]  # of its items, in item order


@dataclass
class Shop:
    session: Session
    project: Project
    orders: list[Seeded]
    reward_ids: tuple[int, ...]


def _instants() -> Iterator[datetime]:
    """Every 7 hours from mid-October to early December, and each side of local midnights and of the
    DST change (2026-10-25 03:00 CEST became 02:00 CET)."""
    moment = datetime(2026, 10, 15, 3, tzinfo=UTC)
    while moment < datetime(2026, 12, 5, tzinfo=UTC):
        yield moment
        moment += timedelta(hours=7)
    for day in (date(2026, 10, 25), date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1)):
        midnight = datetime.combine(day, datetime.min.time(), ZONE).astimezone(UTC)
        yield from (midnight - timedelta(microseconds=1), midnight, midnight + timedelta(seconds=1))
    yield from (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> Iterator[Shop]:
    rng = random.Random(15)
    with module_session(stack, tmp_path_factory.mktemp("filters")) as session:
        owner = make_user(session, "filters-owner")
        backer = make_user(session, "filters-backer")
        project = make_project(session, owner, "Filtered", timezone="Europe/Paris")
        rewards = tuple(make_reward(session, project, 1000 * n, f"Reward {n}").id for n in (1, 2, 3))
        other = make_project(session, owner, "Other")
        make_reward(session, other)
        orders = []
        for index, created_at in enumerate(sorted(_instants())):
            country = COUNTRIES[index % len(COUNTRIES)]
            address = None
            if country is not None:
                address = Address(first_name="A", last_name="B", city="C", country=country)
                session.add(address)
                session.flush()
            order = Order(project_id=project.id, user_id=backer.id, created_at=created_at,
                          status=rng.choice(STATUSES), payment_method="card", total=0, subtotal=0,
                          shipping_total=0, shipping_address_id=None if address is None else address.id)
            session.add(order)
            session.flush()
            chosen = tuple(rng.choice(rewards) for _ in range(rng.choice((0, 1, 1, 2, 3))))
            for reward_id in chosen:
                session.add(OrderItem(order_id=order.id, reward_id=reward_id, quantity=1, unit_price=0,
                                      line_total=0))
                session.flush()
            orders.append(Seeded(order.id, order.status, created_at, country, chosen))
        # An order of another project, which no filter may bring in.
        session.add(Order(project_id=other.id, user_id=backer.id, created_at=orders[5].created_at,
                          status=orders[5].status, payment_method="card", total=0, subtotal=0,
                          shipping_total=0))
        session.commit()
        yield Shop(session, project, orders, rewards)


def _local(value: str) -> datetime:
    return datetime.fromisoformat(value) if "T" in value else datetime.fromisoformat(value + "T00:00")


def expected(shop: Shop, filters: Mapping[str, Any]) -> list[tuple[int, int | None]]:
    """(order id, reward id) of each row, in file order, from the seeded facts alone."""
    created = filters.get("created", {})
    rows = []
    for order in sorted(shop.orders, key=lambda o: (o.created_at, o.id)):
        wall = order.created_at.astimezone(ZONE).replace(tzinfo=None)
        if "status" in filters and order.status not in filters["status"]:
            continue
        if "from" in created and wall < _local(created["from"]):
            continue
        if "to" in created and wall >= _local(created["to"]):
            continue
        if "country" in filters and order.country not in [code.upper() for code in filters["country"]]:
            continue
        if "has_shipping_address" in filters and (order.country is not None) != filters["has_shipping_address"]:
            continue
        items: list[int | None] = list(order.rewards) or [None]
        if "reward_ids" in filters:
            items = [reward for reward in items if reward in filters["reward_ids"]]
        rows += [(order.id, reward) for reward in items]
    return rows


def exported(shop: Shop, filters: Mapping[str, Any], path: Path) -> tuple[list[tuple[int, int | None]], int]:
    """The rows of the csv written by the real path (validation, the type's rows, the csv writer), and
    the type's row estimate."""
    project = shop.project
    request = validate_export_request("orders", "csv", {"order.id": "id", "order.reward.id": "reward"}, "en",
                                      options={"type": {"filters": filters}})
    context = ExportContext(project.id, "en", project.lang, project.currency, ZoneInfo(project.timezone),
                            request.columns, request.type_options)
    request.writer.write(path, request.columns, request.export_type.rows(shop.session, context),
                         SheetInfo(project.currency, project.name), request.format_options)
    rows = [(int(order), int(reward) if reward else None) for order, reward in read_csv(path)[1:]]
    return rows, request.export_type.estimate_rows(shop.session, context)


def _cases(rewards: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    return {
        "none": {},
        "status": {"status": ["payment-completed", "payment-done"]},
        "one status": {"status": ["cancelled"]},
        "reward": {"reward_ids": [rewards[1]]},
        "rewards": {"reward_ids": [rewards[0], rewards[2]]},
        "november": {"created": {"from": "2026-11-01", "to": "2026-12-01"}},
        "from only": {"created": {"from": "2026-11-30"}},
        "to only": {"created": {"to": "2026-10-25"}},
        "across DST": {"created": {"from": "2026-10-24T23:00", "to": "2026-10-25T12:00"}},
        "date-times": {"created": {"from": "2026-11-01T00:00:01", "to": "2026-11-30T23:59"}},
        "country": {"country": ["fr", "DE"]},
        "with address": {"has_shipping_address": True},
        "without address": {"has_shipping_address": False},
        "paid in November to France": {"status": ["payment-completed"], "country": ["FR"],
                                       "created": {"from": "2026-11-01", "to": "2026-12-01"}},
        "reward, dates, address": {"reward_ids": [rewards[0]], "created": {"from": "2026-10-25"},
                                   "has_shipping_address": True},
        "everything": {"status": list(STATUSES), "reward_ids": list(rewards), "country": ["US", "FR"],
                       "created": {"from": "2026-10-01", "to": "2027-01-01"}, "has_shipping_address": True},
        "nothing matches": {"country": ["US"], "has_shipping_address": False},
    }


CASES = list(_cases((0, 0, 0)))


@pytest.mark.parametrize("case", CASES)
def test_each_filter_and_combinations_keep_what_the_oracle_says(shop: Shop, tmp_path: Path, case: str) -> None:
    filters = _cases(shop.reward_ids)[case]
    want = expected(shop, filters)
    rows, estimate = exported(shop, filters, tmp_path / "export.csv")
    assert rows == want
    assert estimate == len(want)
    if case not in ("none", "everything", "nothing matches"):
        assert 0 < len(want) < len(expected(shop, {})), "the seed must make this filter choose"


def test_the_seed_has_orders_each_side_of_midnight_and_in_the_repeated_hour(shop: Shop) -> None:
    walls = [order.created_at.astimezone(ZONE) for order in shop.orders]
    naive = {wall.replace(tzinfo=None) for wall in walls}
    assert {datetime(2026, 11, 1), datetime(2026, 10, 31, 23, 59, 59, 999999)} <= naive
    # 02:30 twice on 2026-10-25: in summer time, then (fold=1) in winter time.
    assert sorted(wall.fold for wall in walls if wall.replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)) == [0, 1]
