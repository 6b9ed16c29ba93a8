"""An export's control totals (issue 16): per currency, the orders, the item lines and the sum of the order
totals in the file, and the same per order status.

Counted while the rows are streamed, from the very rows the writer gets (never a second query: an import
committing between two queries would make the file and its totals disagree), whatever the file's layout.
The rows of one order are contiguous (the SELECT orders by order id within created_at), so the row loop
(exports/types/orders.py: inline, it is the hot path) calls `order` only when the order id changes, and
counts a row as an item line in the counters `order` gave when its item id is not None. Amounts stay
integers in minor units until the end (crowdexports.money).
"""

from __future__ import annotations

from typing import Any

from crowdexports.money import to_decimal

# What the stored summary and the resource's `summary` hold: one object per currency (see `Totals.summary`).
Summary = list[dict[str, Any]]


class Totals:
    """The accumulator of one export: `order` per order streamed, `summary` the result."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self._by_status: dict[str, list[int]] = {}  # status -> [orders, items, total in minor units]

    def order(self, status: str, total: int | None) -> list[int]:
        """Count a new order of `status`; its status's counters, [orders, items, total], to count its items in."""
        counts = self._by_status.get(status) or self._by_status.setdefault(status, [0, 0, 0])
        counts[0] += 1
        counts[2] += total or 0
        return counts

    def summary(self) -> Summary:
        """`[{"currency", "orders", "items", "total", "by_status": [{"status", "orders", "items", "total"}]}]`,
        statuses sorted, money as a decimal string with the currency's decimals (as the API shows prices)."""
        by_status = [{"status": status, **self._figures(*counts)} for status, counts in sorted(self._by_status.items())]
        orders, items, total = (sum(counts[i] for counts in self._by_status.values()) for i in range(3))
        return [{"currency": self.currency, **self._figures(orders, items, total), "by_status": by_status}]

    def _figures(self, orders: int, items: int, total: int) -> dict[str, Any]:
        return {"orders": orders, "items": items, "total": str(to_decimal(total, self.currency))}
