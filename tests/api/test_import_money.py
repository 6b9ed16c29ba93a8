"""Money is exact from an import to the files: thousands of random amounts in JPY (0 decimals), EUR (2) and
KWD (3), sent as JSON numbers (some in exponent form) and as decimal strings, including 0.1 + 0.2 and
99,999,999.99-like values, imported over HTTP, exported by the real type and writers, read back with the
csv module (as Decimal) and python-calamine (xlsx), and compared with the decimals that were sent."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.auth import accounts
from crowdexports.models import OrderItem
from tests.api.conftest import Account
from tests.api.order_lines import Number, answer, item, ndjson, order, post_import
from tests.factories import make_reward
from tests.files.expect import write_both

ORDERS = 400  # per currency; about seven amounts each
MONEY_COLUMNS = {"order.id": "id", "order.reward.price": "price", "order.reward.total": "line total",
                 "order.total": "total", "order.subtotal": "subtotal", "order.shipping_total": "shipping"}


def spellings(amount: Decimal, decimals: int, rng: random.Random) -> str | Number:
    """One of the ways a client may send `amount`: a string or a number, with all its decimals, the
    fewest it needs, or (numbers) an exponent."""
    full = f"{amount:.{decimals}f}"
    short = format(amount.normalize(), "f") if amount else "0"
    choice = rng.randrange(5)
    if choice == 0:
        return full
    if choice == 1:
        return short
    if choice == 2:
        return Number(full)
    if choice == 3:
        return Number(short)
    return Number(f"{amount.normalize():E}")  # 1.25E+1, 3E-1


def amounts(rng: random.Random, decimals: int) -> list[Decimal]:
    unit = Decimal(1).scaleb(-decimals)
    largest = Decimal(99_999_999) + (1 - unit if decimals else 0)  # 99,999,999.99 in EUR
    tricky = [Decimal("0.1"), Decimal("0.2"), Decimal("0.3"), Decimal("1.1"), Decimal("2.675"), Decimal("1.005"),
              Decimal("0.07"), Decimal("4.35"), largest, unit, Decimal(0)]
    usable = [value for value in tricky if value == value.quantize(unit)]
    return usable + [Decimal(rng.randrange(10 ** (8 + decimals))).scaleb(-decimals) for _ in range(ORDERS * 8)]


@pytest.mark.parametrize("currency, decimals", [("JPY", 0), ("EUR", 2), ("KWD", 3)])
def test_imported_amounts_come_out_of_csv_and_xlsx_exactly_as_sent(
        client: TestClient, session: Session, staff: Account, alice: Account, tmp_path: Path, currency: str,
        decimals: int) -> None:
    rng = random.Random(f"money-{currency}")
    project = accounts.create_project(session, owner=alice.user, name=f"Money {currency}", currency=currency)
    rewards = [make_reward(session, project).id for _ in range(3)]
    pool = iter(amounts(rng, decimals))
    expected: list[tuple[Decimal | None, ...]] = []  # per row: id and MONEY_COLUMNS' amounts
    shipping_per_item: dict[int, list[Decimal]] = {}
    lines = []
    for number in range(1, ORDERS + 1):
        total, subtotal, shipping = next(pool), next(pool), next(pool)
        items = [(rng.choice(rewards), next(pool), next(pool), next(pool)) for _ in range(rng.choice((0, 1, 2)))]
        order_id = 10_000 + number
        created_at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=number)).isoformat()  # export order
        lines.append(order(order_id, created_at=created_at,
                           order_total=spellings(total, decimals, rng),
                           order_subtotal=spellings(subtotal, decimals, rng),
                           order_shipping_total=spellings(shipping, decimals, rng),
                           items=[item(reward, unit_price=spellings(price, decimals, rng),
                                       line_total=spellings(line_total, decimals, rng),
                                       line_shipping_total=spellings(line_shipping, decimals, rng))
                                  for reward, price, line_total, line_shipping in items]))
        shipping_per_item[order_id] = [line_shipping for _reward, _price, _total, line_shipping in items]
        # The default layout (items): the order's amounts on its first row only.
        for position, (_reward, price, line_total, _line_shipping) in enumerate(items or ((None, None, None, None),)):
            amounts_once = (total, subtotal, shipping) if position == 0 else (None, None, None)
            expected.append((Decimal(order_id), price, line_total, *amounts_once))
    assert len(expected) > 500

    assert answer(post_import(client, staff, project.id, ndjson(*lines)))["orders"]["created"] == ORDERS
    session.expire_all()
    stored: dict[int, list[Decimal]] = {}
    for order_id, line_shipping in session.execute(select(OrderItem.order_id, OrderItem.line_shipping_total)
                                                   .order_by(OrderItem.id)):
        stored.setdefault(order_id, []).append(Decimal(line_shipping).scaleb(-decimals))
    assert stored == {key: value for key, value in shipping_per_item.items() if value}  # not exported: the database

    written = write_both(session, project, tmp_path, requested=MONEY_COLUMNS)
    with written.csv.open(encoding="utf-8-sig", newline="") as handle:
        csv_rows = list(csv.reader(handle))[1:]
    # csv: the text itself, with exactly the currency's decimals, never a float's digits.
    assert csv_rows == [[str(int(row[0] or 0))] + ["" if value is None else f"{value:.{decimals}f}"
                                                   for value in row[1:]] for row in expected]
    sheet = CalamineWorkbook.from_path(str(written.xlsx))
    xlsx_rows = sheet.get_sheet_by_name(sheet.sheet_names[0]).to_python()[1:]
    # xlsx: number cells; a double's shortest repr is the decimal sent (at most 11 significant digits here).
    read = [tuple(None if cell == "" else Decimal(repr(cell)) for cell in row) for row in xlsx_rows]
    assert read == expected
