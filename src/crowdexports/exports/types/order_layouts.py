"""Row layouts of the orders export (issue 16): how an order's items become rows, so that summing a
money column gives the right number (docs/files.md, "Row layouts").

- `items` (the default): one row per item; the order's own amounts (ORDER_AMOUNTS) only on its first
  row in the file, empty on its other rows, so each amount is counted once. Every other cell stays on
  every row: each row still names its order.
- `items_repeated`: one row per item, the order's amounts on every row (for pivot tables; summing those
  columns counts an order once per item). What every export wrote before layouts existed, so a stored
  export without a layout is this one (STORED_BEFORE).
- `orders`: one row per order; the item columns merged (MERGED): ids and texts joined in item order,
  quantities and line totals summed. A unit price has no single value for an order of several rewards:
  the layout refuses `order.reward.price` and leaves it out of its default columns.

Rows arrive as lists of cell values with the order id appended (the export's SELECT is ordered by order,
then item, so an order's rows are consecutive); `transform`'s streams them, one order at a time at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.exports.types.base import ColumnKind, OutputColumn

NAME = "layout"  # the API's field and the orders type's option


class Layout(StrEnum):
    ITEMS = "items"
    ORDERS = "orders"
    ITEMS_REPEATED = "items_repeated"


DEFAULT = Layout.ITEMS  # a new request without a layout
STORED_BEFORE = Layout.ITEMS_REPEATED  # a stored export without one: made before layouts, by this rule

# The order's own amounts: once per order in `items`.
ORDER_AMOUNTS = ("order.total", "order.subtotal", "order.shipping_total")
# In `orders`: an item column -> how an order's values become its one cell. Joined cells are text.
_JOINED = {"order.reward.id": ", ", "order.reward.title": "\n",
           # A description may hold several lines: a blank line separates two items'.
           "order.reward.description": "\n\n"}
_SUMMED = ("order.reward.quantity", "order.reward.total")
NO_SINGLE_VALUE = ("order.reward.price",)  # refused in `orders`


def parse_layout(raw: object) -> Layout:
    """A layout's name; InvalidInput on `layout` otherwise. Absent (None) is STORED_BEFORE: a request's
    default is set by the request's checks (exports.requests), which know it is a new request."""
    if raw is None:
        return STORED_BEFORE
    if not isinstance(raw, str):
        raise InvalidInput([FieldProblem([NAME], "must be a string", "TypeError")])
    if raw not in set(Layout):
        raise InvalidInput([FieldProblem([NAME], f"must be one of: {', '.join(Layout)}")])
    return Layout(raw)


def fit_columns(columns: Sequence[OutputColumn], layout: Layout, *, chosen: bool) -> list[OutputColumn]:
    """`columns` as `layout` writes them: in `orders`, joined columns are text and a column without a
    single value per order is left out of the default set, refused when `chosen` (InvalidInput)."""
    if layout is not Layout.ORDERS:
        return list(columns)
    refused = [column.id for column in columns if column.id in NO_SINGLE_VALUE]
    if refused and chosen:
        raise InvalidInput([FieldProblem(["columns", column_id], "has no single value for an order of several "
                                         "rewards: leave it out, or choose the layout items") for column_id in refused])
    return [replace(column, kind=ColumnKind.TEXT) if column.id in _JOINED else column
            for column in columns if column.id not in NO_SINGLE_VALUE]


Rows = Iterator[list[Any]]
Transform = Callable[[Rows], Iterator[tuple[object, ...]]]


def transform(layout: Layout, columns: Sequence[OutputColumn]) -> Transform | None:
    """How `layout` turns the rows, each a list of cells with its order id appended, into the file's rows;
    None: the rows are written as they are (no order id needed)."""
    ids = [column.id for column in columns]
    if layout is Layout.ITEMS:
        amounts = [index for index, column_id in enumerate(ids) if column_id in ORDER_AMOUNTS]
        return (lambda rows: _first_row_amounts(rows, amounts)) if amounts else None
    if layout is Layout.ORDERS:
        joined = [(index, _JOINED[column_id]) for index, column_id in enumerate(ids) if column_id in _JOINED]
        summed = [index for index, column_id in enumerate(ids) if column_id in _SUMMED]
        return lambda rows: _one_per_order(rows, joined, summed)
    return None


_NO_ORDER = object()


def _first_row_amounts(rows: Rows, amounts: Sequence[int]) -> Iterator[tuple[object, ...]]:
    """The order's amounts on its first row only."""
    previous: object = _NO_ORDER
    for values in rows:
        order_id = values.pop()
        if order_id == previous:
            for index in amounts:
                values[index] = None
        else:
            previous = order_id
        yield tuple(values)


@dataclass
class _Order:
    """The first row of an order, and its other rows' values of the merged columns."""

    first: list[Any]
    more: list[list[Any]]


def _one_per_order(rows: Rows, joined: Sequence[tuple[int, str]],
                   summed: Sequence[int]) -> Iterator[tuple[object, ...]]:
    """One row per order: its first row, the merged columns over all its rows."""
    current: _Order | None = None
    previous: object = _NO_ORDER
    for values in rows:
        order_id = values.pop()
        if current is not None and order_id == previous:
            current.more.append(values)
            continue
        if current is not None:
            yield _merged(current, joined, summed)
        current, previous = _Order(values, []), order_id
    if current is not None:
        yield _merged(current, joined, summed)


def _merged(order: _Order, joined: Sequence[tuple[int, str]], summed: Sequence[int]) -> tuple[object, ...]:
    """An order's row. An order without items has None in every item cell, which stays empty."""
    first = order.first
    rows = [first, *order.more]
    for index, separator in joined:
        parts = [str(row[index]) for row in rows if row[index] is not None]
        first[index] = separator.join(parts) if parts else None
    for index in summed:
        for row in order.more:
            first[index] += row[index]
    return tuple(first)
