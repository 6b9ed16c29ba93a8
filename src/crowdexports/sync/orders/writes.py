"""A checked batch of order lines written: new rows in bulk, changed rows updated in place, unchanged
rows not written at all (so a re-import is a no-op down to the ids), and no address left behind. Every
order written, new or changed in its values, items or addresses, takes the import's change number
(sync.changes); an unchanged one keeps its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crowdexports.database.bulk import BulkInsert
from crowdexports.models import Address, Base, Order, OrderItem, User, utcnow
from crowdexports.sync.changes import next_change
from crowdexports.sync.orders.address_ids import AddressIds
from crowdexports.sync.orders.checks import Checked
from crowdexports.sync.orders.line import (
    ADDRESS_COLUMNS,
    ITEM_COLUMNS,
    ORDER_COLUMNS,
    USER_COLUMNS,
    AddressValues,
    Item,
)
from crowdexports.sync.orders.outcome import ImportResult
from crowdexports.sync.orders.reads import SELECT_ADDRESSES, SELECT_ITEMS, Reads
from crowdexports.sync.records import keep_sequence_ahead

_TABLES: dict[str, Table] = {model.__tablename__: model.__table__ for model in (User, Order, Address, OrderItem)}


class Writes:
    """The writes of one import into `project_id`, counted in `result`."""

    def __init__(self, session: Session, connection: Connection, reads: Reads, project_id: int,
                 result: ImportResult) -> None:
        self.session, self.connection, self.reads = session, connection, reads
        self.project_id, self.result = project_id, result
        self.address_ids = AddressIds(connection, connection.dialect.name == "postgresql")
        self.insert_user = BulkInsert(connection, User, ("id", *USER_COLUMNS, "is_staff", "created_at"))
        self.insert_address = BulkInsert(connection, Address, ("id", *ADDRESS_COLUMNS))
        self.insert_order = BulkInsert(connection, Order, ("id", "project_id", *ORDER_COLUMNS,
                                                           "shipping_address_id", "billing_address_id",
                                                           "change_seq"))
        self.insert_item = BulkInsert(connection, OrderItem, ("order_id", *ITEM_COLUMNS))
        self._change: int | None = None

    def change(self) -> int:
        """This import's change number, taken at its first order write (an import that changes no order
        takes none)."""
        if self._change is None:
            self._change = next_change(self.connection, self.project_id)
        return self._change

    def batch(self, checked: Checked) -> None:
        """The good lines of `checked`, compared with the rows there already."""
        lines, orders = checked.good, checked.orders
        self._users(checked)
        old_addresses = {address_id: tuple(values) for address_id, *values in self.reads.select(SELECT_ADDRESSES, {
            address_id for stored in orders.values() for address_id in (stored.shipping, stored.billing)
            if address_id is not None})}
        old_items: dict[int, list[Item]] = {}
        for order_id, *item in self.reads.select(SELECT_ITEMS, orders.keys()):
            old_items.setdefault(order_id, []).append(tuple(item))
        new_addresses: list[AddressValues] = []  # ids are given once they are counted
        changed_addresses: list[dict[str, Any]] = []
        dropped_addresses: list[int] = []
        new_orders: list[list[Any]] = []
        changed_orders: list[dict[str, Any]] = []
        touched_orders: list[int] = []  # changed in items or addresses only
        replaced_items: list[int] = []
        new_items: list[tuple[Any, ...]] = []

        def address(values: AddressValues | None, old_id: int | None) -> int | None:
            """The order's address id once `values` are written: its own row updated in place, a new
            row (-n: the nth new one), or none (its old row dropped, never left behind)."""
            if values is None:
                if old_id is not None:
                    dropped_addresses.append(old_id)
                return None
            if old_id is None:
                new_addresses.append(values)
                return -len(new_addresses)
            if old_addresses[old_id] != values:
                changed_addresses.append({"b_id": old_id, **dict(zip(ADDRESS_COLUMNS, values, strict=True))})
            return old_id

        def address_writes() -> int:
            return len(new_addresses) + len(changed_addresses) + len(dropped_addresses)

        for line in lines:
            stored = orders.get(line.id)
            writes_before = address_writes()
            shipping = address(line.shipping, stored.shipping if stored else None)
            billing = address(line.billing, stored.billing if stored else None)
            if stored is None:
                self.result.orders_created += 1
                new_orders.append([line.id, self.project_id, *line.values, shipping, billing])
                new_items += [(line.id, *item) for item in line.items]
                continue
            order_changed = (stored.values, stored.shipping, stored.billing) != (line.values, shipping, billing)
            items_changed = old_items.get(line.id, []) != list(line.items)
            if order_changed:
                changed_orders.append({"b_id": line.id, **dict(zip(ORDER_COLUMNS, line.values, strict=True)),
                                       "shipping_address_id": shipping, "billing_address_id": billing})
            if items_changed:
                replaced_items.append(line.id)
                new_items += [(line.id, *item) for item in line.items]
            if order_changed or items_changed or address_writes() > writes_before:
                self.result.orders_updated += 1
                if not order_changed:
                    touched_orders.append(line.id)
            else:
                self.result.orders_unchanged += 1

        ids = self.address_ids.take(len(new_addresses))
        self.insert_address([(address_id, *values) for address_id, values in zip(ids, new_addresses, strict=True)])

        def resolved(address_id: int | None) -> int | None:
            return ids[-address_id - 1] if address_id is not None and address_id < 0 else address_id

        change = self.change() if new_orders or changed_orders or touched_orders else 0
        for values in new_orders:
            values[-2:] = resolved(values[-2]), resolved(values[-1])
            values.append(change)
        for changes in changed_orders:
            changes["shipping_address_id"] = resolved(changes["shipping_address_id"])
            changes["billing_address_id"] = resolved(changes["billing_address_id"])
            changes["change_seq"] = change
        self._update(Address, ADDRESS_COLUMNS, changed_addresses)
        self.insert_order([tuple(values) for values in new_orders])
        self._update(Order, (*ORDER_COLUMNS, "shipping_address_id", "billing_address_id", "change_seq"),
                     changed_orders)
        if touched_orders:
            self.connection.execute(update(Order).where(Order.id.in_(touched_orders)).values(change_seq=change))
        if new_orders:
            keep_sequence_ahead(self.session, "orders", max(values[0] for values in new_orders))
        if dropped_addresses:  # after the orders that pointed at them
            self.connection.execute(delete(Address).where(Address.id.in_(dropped_addresses)))
        if replaced_items:
            self.connection.execute(delete(OrderItem).where(OrderItem.order_id.in_(replaced_items)))
        self.insert_item(new_items)

    def _users(self, checked: Checked) -> None:
        """Embedded users: created, or their profile updated. Staff accounts are left as they are, and
        no line sets `is_staff` or a password (rules.orders.NOT_IMPORTED): an order import changes no
        one's access."""
        users = checked.users
        created: dict[int, tuple[Any, ...]] = {}
        changed: dict[int, dict[str, Any]] = {}
        now = utcnow()
        for line in checked.good:
            if line.user is None:
                continue
            user_id, profile = line.user
            stored = users.get(user_id)
            if stored is None and user_id not in created:
                self.result.users_created += 1
                created[user_id] = (user_id, *profile, False, now)
                continue
            # A batch gives a user one profile (OrderImport.add): a later line of it repeats the first.
            if stored is None or stored[1] or stored[0] == profile or user_id in changed:
                self.result.users_unchanged += 1
                continue
            self.result.users_updated += 1
            changed[user_id] = {"b_id": user_id, **dict(zip(USER_COLUMNS, profile, strict=True))}
        self.insert_user(list(created.values()))
        self._update(User, USER_COLUMNS, list(changed.values()))
        if created:
            keep_sequence_ahead(self.session, "users", max(created))

    def _update(self, model: type[Base], columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
        if rows:
            table = _TABLES[model.__tablename__]
            statement = (update(table).where(table.c.id == bindparam("b_id"))
                         .values({name: bindparam(name) for name in columns}))
            self.connection.execute(statement, rows)
