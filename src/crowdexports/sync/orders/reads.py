"""What a batch of order lines reads of the rows already there: a few SELECTs, each run on the driver."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from crowdexports.sync.orders.line import ADDRESS_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS, USER_COLUMNS


class StoredOrder(NamedTuple):
    """An order as the database has it, to compare with its new line."""

    project_id: int
    values: tuple[Any, ...]  # ORDER_COLUMNS, created_at as an aware datetime
    shipping: int | None
    billing: int | None


def _sql(table: str, columns: Sequence[str], key: str = "id", order: str = "") -> str:
    return f"SELECT {', '.join(columns)} FROM {table} WHERE {key} IN (){order}"


SELECT_USERS = _sql("users", ("id", *USER_COLUMNS, "is_staff"))
SELECT_HOLDERS = _sql("users", ("username", "id"), "username")
SELECT_USER_IDS = _sql("users", ("id",))
SELECT_ORDERS = _sql("orders", ("id", "project_id", *ORDER_COLUMNS, "shipping_address_id", "billing_address_id"))
SELECT_REWARDS = _sql("rewards", ("id", "project_id"))
SELECT_ADDRESSES = _sql("addresses", ("id", *ADDRESS_COLUMNS))
SELECT_ITEMS = _sql("order_items", ("order_id", *ITEM_COLUMNS), "order_id", " ORDER BY order_id, id")


class Reads:
    """The SELECTs above, each with its `IN ()` filled with the keys of one batch."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"

    def select(self, sql: str, keys: Collection[object]) -> Sequence[Any]:
        """The rows as the driver gives them: SQLAlchemy would compile an expanding IN again on each
        call, ~4 ms for a batch, and convert every value."""
        if not keys:
            return ()
        marks = ", ".join([self.mark] * len(keys))
        return self.connection.exec_driver_sql(sql.replace("IN ()", f"IN ({marks})"), tuple(keys)).all()
