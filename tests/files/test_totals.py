"""The control totals' accumulator (exports.summary): orders counted and summed once each, items counted
in the counters an order gave, totals in minor units shown with the currency's decimals, statuses sorted.
The row loop that feeds it (orders.rows) is proven on files and the API: tests/files/test_summary_sheet.py,
tests/api/test_summary.py."""

from __future__ import annotations

from typing import Any

import pytest

from crowdexports.exports.summary import Totals

# (status, order total in minor units, item lines): one order each.
ORDERS = [("paid", 1005, 3), ("cancelled", 500, 0), ("paid", 1, 1), ("awaiting", 250000, 2)]


def _summary(currency: str, orders: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    totals = Totals(currency)
    for status, total, items in orders:
        counts = totals.order(status, total)
        for _ in range(items):
            counts[1] += 1
    return totals.summary()


@pytest.mark.parametrize(("currency", "total", "paid", "awaiting", "cancelled"), [
    ("JPY", "251506", "1006", "250000", "500"),
    ("EUR", "2515.06", "10.06", "2500.00", "5.00"),
    ("KWD", "251.506", "1.006", "250.000", "0.500"),
])
def test_orders_once_items_per_line_totals_in_the_currency(currency: str, total: str, paid: str, awaiting: str,
                                                         cancelled: str) -> None:
    assert _summary(currency, ORDERS) == [{
        "currency": currency, "orders": 4, "items": 6, "total": total,
        "by_status": [
            {"status": "awaiting", "orders": 1, "items": 2, "total": awaiting},
            {"status": "cancelled", "orders": 1, "items": 0, "total": cancelled},  # an order without items
            {"status": "paid", "orders": 2, "items": 4, "total": paid},
        ],
    }]


def test_no_rows_is_zeros_in_the_currency() -> None:
    assert _summary("EUR", []) == [{"currency": "EUR", "orders": 0, "items": 0, "total": "0.00", "by_status": []}]
    assert _summary("KWD", [])[0]["total"] == "0.000"
    assert _summary("JPY", [])[0]["total"] == "0"


def test_a_negative_total_is_summed_as_it_is() -> None:
    """A refund booked as a negative order total lowers the sum; it is never clamped or dropped."""
    assert _summary("EUR", [("refunded", -30, 0), ("paid", 100, 1)])[0]["total"] == "0.70"
