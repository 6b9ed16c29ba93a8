"""The layouts' row rules on hand-made rows (exports.types.order_layouts): which cells an order's other
rows leave empty, how one row per order joins and adds its items, and that rows stream."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from crowdexports.errors import InvalidInput
from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.types.order_layouts import Layout, fit_columns, parse_layout, transform

KINDS = {"order.id": ColumnKind.INTEGER, "order.reward.id": ColumnKind.INTEGER, "order.reward.title": ColumnKind.TEXT,
         "order.reward.description": ColumnKind.TEXT, "order.reward.quantity": ColumnKind.INTEGER,
         "order.reward.total": ColumnKind.MONEY, "order.total": ColumnKind.MONEY}
COLUMNS = [OutputColumn(column_id, kind, column_id) for column_id, kind in KINDS.items()]
E = Decimal


def _rows() -> list[list[Any]]:
    """Order 7 of two items, order 8 without items, order 9 of one item; the order id appended last."""
    return [[7, 12, "Mug", "Blue\nceramic", 1, E("10.50"), E("31.50"), 7],
            [7, 15, "Poster", "A2", 2, E("21.00"), E("31.50"), 7],
            [8, None, None, None, None, None, E("4.00"), 8],
            [9, 12, "Mug", "Blue\nceramic", 3, E("31.50"), E("35.00"), 9]]


def _laid_out(layout: Layout) -> list[tuple[object, ...]]:
    rows = transform(layout, COLUMNS)
    assert rows is not None
    return list(rows(iter(_rows())))


def test_items_writes_the_order_amounts_on_its_first_row_only() -> None:
    assert _laid_out(Layout.ITEMS) == [
        (7, 12, "Mug", "Blue\nceramic", 1, E("10.50"), E("31.50")), (7, 15, "Poster", "A2", 2, E("21.00"), None),
        (8, None, None, None, None, None, E("4.00")), (9, 12, "Mug", "Blue\nceramic", 3, E("31.50"), E("35.00"))]


def test_orders_joins_and_adds_an_orders_items() -> None:
    assert _laid_out(Layout.ORDERS) == [
        (7, "12, 15", "Mug\nPoster", "Blue\nceramic\n\nA2", 3, E("31.50"), E("31.50")),
        (8, None, None, None, None, None, E("4.00")), (9, "12", "Mug", "Blue\nceramic", 3, E("31.50"), E("35.00"))]


def test_items_repeated_and_columns_without_order_amounts_need_no_transform() -> None:
    assert transform(Layout.ITEMS_REPEATED, COLUMNS) is None
    assert transform(Layout.ITEMS, [column for column in COLUMNS if column.id != "order.total"]) is None


def test_rows_stream_one_order_at_a_time() -> None:
    taken: list[int] = []

    def rows() -> Iterator[list[Any]]:
        for row in _rows():
            taken.append(row[-1])
            yield row

    laid_out = transform(Layout.ORDERS, COLUMNS)
    assert laid_out is not None
    stream = laid_out(rows())
    assert next(stream)[0] == 7 and taken == [7, 7, 8]  # order 7 is out once order 8's row is read


def test_orders_refuses_the_unit_price_and_types_joined_cells_as_text() -> None:
    price = OutputColumn("order.reward.price", ColumnKind.MONEY, "Price")
    fitted = fit_columns([*COLUMNS, price], Layout.ORDERS, chosen=False)
    assert [column.id for column in fitted] == list(KINDS)
    assert {column.id for column in fitted if column.kind is ColumnKind.TEXT} == {
        "order.reward.id", "order.reward.title", "order.reward.description"}
    with pytest.raises(InvalidInput) as error:
        fit_columns([*COLUMNS, price], Layout.ORDERS, chosen=True)
    assert error.value.problems[0].field_names == ["columns", "order.reward.price"]
    assert fit_columns([*COLUMNS, price], Layout.ITEMS, chosen=True) == [*COLUMNS, price]


def test_parse_layout() -> None:
    assert parse_layout(None) is Layout.ITEMS_REPEATED  # stored before layouts
    assert parse_layout("orders") is Layout.ORDERS
    for bad, classification in (("rows", "ValueError"), (1, "TypeError")):
        with pytest.raises(InvalidInput) as error:
            parse_layout(bad)
        assert (error.value.problems[0].field_names, error.value.problems[0].classification) == (
            ["layout"], classification)
