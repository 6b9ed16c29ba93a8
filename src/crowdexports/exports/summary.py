"""An export's control totals (issue 16): per currency, the orders, the item lines and the sum of the order
totals in the file, and the same per order status.

Counted while the rows are streamed, from the very rows the writer gets (never a second query: an import
committing between two queries would make the file and its totals disagree), whatever the file's layout.
The rows of one order are contiguous (the SELECT orders by order id within created_at), so the per-order
work is done only when the order id changes, and a row is an item line when its item id is not None.
Amounts stay integers in minor units until the end (crowdexports.money).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crowdexports.money import to_decimal

# What the stored summary and the resource's `summary` hold: one object per currency (see `Totals.summary`).
Summary = list[dict[str, Any]]


class Totals:
    """The accumulator of one export: `counter` gives the per-row function, `summary` the result."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self._by_status: dict[str, list[int]] = {}  # status -> [orders, items, total in minor units]

    def counter(self, order_at: int, status_at: int, total_at: int, item_at: int) -> Callable[[Sequence[Any]], None]:
        """The function to call with every streamed row, given the positions of the values it reads."""
        by_status = self._by_status
        last: Any = object()  # the previous row's order id: at first equal to no real one
        current = [0, 0, 0]

        def count(row: Sequence[Any]) -> None:
            nonlocal last, current
            order_id = row[order_at]
            if order_id != last:
                last = order_id
                status = row[status_at]
                current = by_status.get(status) or by_status.setdefault(status, [0, 0, 0])
                current[0] += 1
                current[2] += row[total_at] or 0
            if row[item_at] is not None:
                current[1] += 1

        return count

    def summary(self) -> Summary:
        """`[{"currency", "orders", "items", "total", "by_status": [{"status", "orders", "items", "total"}]}]`,
        statuses sorted, money as a decimal string with the currency's decimals (as the API shows prices)."""
        by_status = [{"status": status, **self._figures(*counts)} for status, counts in sorted(self._by_status.items())]
        orders, items, total = (sum(counts[i] for counts in self._by_status.values()) for i in range(3))
        return [{"currency": self.currency, **self._figures(orders, items, total), "by_status": by_status}]

    def _figures(self, orders: int, items: int, total: int) -> dict[str, Any]:
        return {"orders": orders, "items": items, "total": str(to_decimal(total, self.currency))}
