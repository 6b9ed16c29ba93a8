"""The control totals' accumulator (exports.summary) on hand-made rows: orders counted once, items as rows
with an item, totals summed in minor units and shown with the currency's decimals."""

from __future__ import annotations

from typing import Any

import pytest

from crowdexports.exports.summary import Totals

# (order id, status, order total in minor units, item id); the columns' own values would sit around them.
ROWS = [
    (1, "paid", 1005, 11), (1, "paid", 1005, 12), (1, "paid", 1005, 13),
    (2, "cancelled", 500, None),  # an order without items
    (3, "paid", 1, 31),
    (4, "awaiting", 250000, 41), (4, "awaiting", 250000, 42),
]


def _summary(currency: str, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    totals = Totals(currency)
    count = totals.counter(1, 2, 3, 0)  # positions in the rows below: item id first, as a query may select
    for order_id, status, total, item_id in rows:
        count((item_id, order_id, status, total, "a column's value"))
    return totals.summary()


@pytest.mark.parametrize(("currency", "total", "paid", "awaiting", "cancelled"), [
    ("JPY", "251506", "1006", "250000", "500"),
    ("EUR", "2515.06", "10.06", "2500.00", "5.00"),
    ("KWD", "251.506", "1.006", "250.000", "0.500"),
])
def test_orders_once_items_per_line_totals_in_the_currency(currency: str, total: str, paid: str, awaiting: str,
                                                         cancelled: str) -> None:
    assert _summary(currency, ROWS) == [{
        "currency": currency, "orders": 4, "items": 6, "total": total,
        "by_status": [
            {"status": "awaiting", "orders": 1, "items": 2, "total": awaiting},
            {"status": "cancelled", "orders": 1, "items": 0, "total": cancelled},
            {"status": "paid", "orders": 2, "items": 4, "total": paid},
        ],
    }]


def test_no_rows_is_zeros_in_the_currency() -> None:
    assert _summary("EUR", []) == [{"currency": "EUR", "orders": 0, "items": 0, "total": "0.00", "by_status": []}]
    assert _summary("KWD", [])[0]["total"] == "0.000"

