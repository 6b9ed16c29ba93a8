"""A project's orders imported as Ulule order resources, one JSON object per line (SPEC §7): the
rules of both `POST /v1/projects/{id}/orders/import` and `crowdexports import orders`.

`parse_line` turns one line into a plain `OrderLine` by the fields' rules (crowdexports.rules.orders),
with no database; `OrderImport` checks lines against the database and writes them a batch at a time;
`import_orders` runs a whole import in one transaction, committed only if every line is good. Lines
apply in order: a later line for the same order (or the same embedded user) replaces what an earlier
one wrote, exactly as two imports would.

Speed is the design's constraint (a million lines from the CLI). Lines are read by small field tables
rather than an object per field, amounts' conversions are remembered, and rows are written in bulk
(executemany on SQLite, COPY on PostgreSQL: `bulk.BulkInsert`) after a few SELECTs per batch. The
ORM's per-row work would cap an import at about a thousand lines a second; that is also why an
embedded user is written here, by `records.upsert_user`'s rules but not by it (measured: 1,070
users/s). An unchanged row is not written at all, so importing the same lines again changes nothing,
item and address ids included.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports import ids
from crowdexports.database.bulk import BulkInsert
from crowdexports.errors import Conflict, FieldProblem, InvalidInput
from crowdexports.models import Address, Base, Order, OrderItem, Project, Reward, User, UTCDateTime, utcnow
from crowdexports.rules import orders as rules
from crowdexports.rules.reader import Reader
from crowdexports.rules.users import display_name
from crowdexports.sync import jsonlines
from crowdexports.sync.records import decode_json, keep_sequence_ahead

BATCH_LINES = 1000  # lines checked and written together: a few SELECTs and one write per table
PROGRESS_EVERY = 1000  # lines
# Column order of the tuples below (and of the rows written); the rules' tables are in the same order.
USER_COLUMNS = ("username", "email", "first_name", "last_name", "name", "lang")
ORDER_COLUMNS = ("user_id", "created_at", "status", "payment_method", "total", "subtotal", "shipping_total",
                 "note", "tracking_source", "tracking_medium")
ADDRESS_COLUMNS = ("first_name", "last_name", "entity_name", "type", "address_1", "address_2", "postal_code",
                   "city", "state", "country", "phone_number")
ITEM_COLUMNS = ("reward_id", "quantity", "unit_price", "line_total", "line_shipping_total")
Profile = tuple[str, ...]  # USER_COLUMNS
AddressValues = tuple[str, ...]  # ADDRESS_COLUMNS
Item = tuple[int, ...]  # ITEM_COLUMNS
_COUNTRY = ADDRESS_COLUMNS.index("country")


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One valid line: the order's values (ORDER_COLUMNS), its embedded user if any, its addresses
    (None: the order has none) and its items, in the line's order."""

    number: int
    id: int
    values: tuple[Any, ...]
    user: tuple[int, Profile] | None
    shipping: AddressValues | None
    billing: AddressValues | None
    items: tuple[Item, ...]


class _LineReader(Reader):
    """A line's reader: the parts of an order that are objects or lists of them."""

    __slots__ = ("currency",)

    def __init__(self, number: int, currency: str) -> None:
        super().__init__([f"line {number}"])
        self.currency = currency

    def platform_id(self, kind: str, row_id: int, *path: str) -> None:
        """An id this line would create or replace a row under: never one of this service's own rows."""
        if ids.is_local(row_id):
            self.problem(path, ids.refusal(kind, row_id))

    def address(self, body: dict[str, Any], name: str) -> AddressValues | None:
        value = body.get(name)
        if value is None:
            return None
        values = self.texts(self.json_object(value, name), rules.ADDRESS, name)
        values[_COUNTRY] = values[_COUNTRY].upper()
        return tuple(values)

    def items(self, body: dict[str, Any]) -> tuple[Item, ...]:
        value = body.get("items")
        if value is None:
            return ()
        if type(value) is not list:
            self.problem(["items"], "must be a list", "TypeError")
            return ()
        if len(value) > rules.MAX_ITEMS:
            self.problem(["items"], f"must have at most {rules.MAX_ITEMS} items")
            return ()
        reward_id, quantity, unit_price, line_total, line_shipping_total = rules.ITEM
        currency, items = self.currency, []
        for index, entry in enumerate(value):
            path = ("items", str(index))
            item = self.json_object(entry, *path)
            count = self.integer(item, quantity, *path)  # its problem is listed before the reward id's
            items.append((self.integer(item, reward_id, *path), count, self.amount(item, unit_price, currency, *path),
                          self.amount(item, line_total, currency, *path),
                          self.amount(item, line_shipping_total, currency, *path)))
        return tuple(items)

    def user(self, body: dict[str, Any]) -> tuple[int, tuple[int, Profile] | None]:
        """(user id, (user id, profile) of the embedded user, or None when the line gives `user_id`)."""
        if body.get("user") is None:
            if body.get("user_id") is None:
                self.problem(["user"], "is required: the user object, or the user_id of a user synced before",
                             "RequiredError")
                return 0, None
            return self.integer(body, rules.USER_ID), None
        user = self.json_object(body["user"], "user")
        user_id = self.integer(user, rules.EMBEDDED_USER_ID, "user")
        self.platform_id("user", user_id, "user", "id")
        for name in rules.NOT_IMPORTED:
            if user.get(name) is not None:
                self.problem(["user", name], f"cannot be set by an order import, which gives and takes no access: "
                             f"sync the user with PUT /v1/users/{user_id}", "PermissionError")
        username, email, first_name, last_name, name, lang = self.texts(user, rules.PROFILE, "user")
        if body.get("user_id") not in (None, user_id):
            self.problem(["user_id"], "must be the embedded user's id (or absent)")
        profile = (username, email, first_name, last_name, display_name(name, first_name, last_name), lang)
        return user_id, (user_id, profile)


def parse_line(raw: bytes, number: int, project_id: int, currency: str) -> OrderLine:
    """Line `number` of an import into `project_id` (whose currency the amounts are in) as an
    OrderLine, or InvalidInput naming every problem, each path starting with "line N". Fields that
    are not ours are ignored: a line is the platform's whole resource."""
    reader = _LineReader(number, currency)
    try:
        decoded = decode_json(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one
        reader.problem([], f"is not JSON: {exc}", "DeserializationError")
        raise InvalidInput(reader.problems) from None
    body = reader.json_object(decoded)
    if reader.problems:  # not an object: none of its fields is worth a problem of its own
        raise InvalidInput(reader.problems)
    order_id = reader.integer(body, rules.ID)
    reader.platform_id("order", order_id, "id")
    if body.get("project_id") not in (None, project_id):
        reader.problem(["project_id"], f"must be {project_id}, the project of this import (or absent)")
    user_id, user = reader.user(body)
    created_at: datetime | None = reader.moment(body, rules.CREATED_AT)
    status, payment_method = reader.texts(body, rules.ORDER)
    total, subtotal, shipping_total = (reader.amount(body, rule, currency) for rule in rules.TOTALS)
    note = reader.text(body, rules.NOTE)
    tracking_source = tracking_medium = ""
    if body.get("tracking") is not None:
        tracking = reader.json_object(body["tracking"], "tracking")
        tracking_source, tracking_medium = reader.texts(tracking, rules.TRACKING, "tracking")
    shipping, billing = reader.address(body, "shipping_address"), reader.address(body, "billing_address")
    items = reader.items(body)
    if reader.problems:
        raise InvalidInput(reader.problems)
    values = (user_id, created_at, status, payment_method, total, subtotal, shipping_total, note,
              tracking_source, tracking_medium)
    return OrderLine(number, order_id, values, user, shipping, billing, items)


@dataclass
class ImportResult:
    """Lines read (as numbered, blank ones included) and blank lines; orders created, updated (changed)
    and unchanged (there already as the line says, not written); users the same, from the embedded user
    objects, one upsert per line."""

    lines: int = 0
    blank_lines: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    users_created: int = 0
    users_updated: int = 0
    users_unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "blank_lines": self.blank_lines,
                "orders": {"created": self.orders_created, "updated": self.orders_updated,
                           "unchanged": self.orders_unchanged},
                "users": {"created": self.users_created, "updated": self.users_updated,
                          "unchanged": self.users_unchanged}}


@dataclass
class ImportRefused(InvalidInput):
    """Bad lines: nothing was imported. `problems` lists at most jsonlines.MAX_PROBLEMS of them."""

    lines: int = 0
    bad_lines: int = 0


def import_orders(session: Session, project: Project, lines: Iterable[tuple[int, bytes | None]],
                  progress: Callable[[int], None] = lambda done: None) -> ImportResult:
    """Every line (numbered, as jsonlines reads them: None for one too long) checked and written in
    one transaction, committed only when all are good; otherwise rolled back, and ImportRefused names
    the problems. `progress` gets the number of lines read. The one owner of an import's transaction,
    for the API and the CLI alike."""
    number = 0
    try:
        importer = OrderImport(session, project)
        for number, raw in lines:
            importer.add(raw, number)
            if number % PROGRESS_EVERY == 0:
                progress(number)
        result = importer.finish()
    except IntegrityError:  # a concurrent writer (PUT /v1/users) took an id or a username
        session.rollback()
        raise Conflict(f"line {number} collided with a concurrent change; nothing was imported") from None
    except BaseException:
        session.rollback()
        raise
    session.commit()
    progress(number)
    return result


class _StoredOrder(NamedTuple):
    """An order as the database has it, to compare with its new line."""

    project_id: int
    values: tuple[Any, ...]  # ORDER_COLUMNS, created_at as an aware datetime
    shipping: int | None
    billing: int | None


def _sql(table: str, columns: Sequence[str], key: str = "id", order: str = "") -> str:
    return f"SELECT {', '.join(columns)} FROM {table} WHERE {key} IN (){order}"


_SELECT_USERS = _sql("users", ("id", *USER_COLUMNS, "is_staff"))
_SELECT_HOLDERS = _sql("users", ("username", "id"), "username")
_SELECT_USER_IDS = _sql("users", ("id",))
_SELECT_ORDERS = _sql("orders", ("id", "project_id", *ORDER_COLUMNS, "shipping_address_id", "billing_address_id"))
_SELECT_REWARDS = _sql("rewards", ("id", "project_id"))
_SELECT_ADDRESSES = _sql("addresses", ("id", *ADDRESS_COLUMNS))
_SELECT_ITEMS = _sql("order_items", ("order_id", *ITEM_COLUMNS), "order_id", " ORDER BY order_id, id")
# PostgreSQL: one import at a time; any 64-bit key no other code uses.
_PG_IMPORT_LOCK = 0x63726F7764_01
_TABLES: dict[str, Table] = {model.__tablename__: model.__table__
                             for model in (User, Order, Address, OrderItem)}


class OrderImport:
    """One all-or-nothing import into one project, inside the session's transaction.

    `add` every line, then `finish`, which raises ImportRefused if a line was bad. Good lines are
    written as their batch is checked even after a bad one, so that later lines see the users and
    orders of earlier ones (and every bad line is found); the caller's rollback undoes it all.

    Imports run one at a time: on SQLite the write lock is taken at once (BEGIN IMMEDIATE), not at the
    first write, so the checks read the state the writes apply to and address ids can be counted from
    max(id); on PostgreSQL a transaction-scoped advisory lock, and address ids from their sequence.
    Readers are never blocked: an export reads the snapshot from before the import's commit.
    """

    def __init__(self, session: Session, project: Project) -> None:
        self.session = session
        self.connection = connection = session.connection()
        self.postgresql = connection.dialect.name == "postgresql"
        self.mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        _lock(connection, self.postgresql)
        self.project_id, self.currency = project.id, project.currency
        self.rewards = set(session.scalars(select(Reward.id).where(Reward.project_id == project.id)))
        self.result = ImportResult()
        self.problems: list[FieldProblem] = []
        self.bad_lines = self.unlisted = 0
        self.batch: list[OrderLine] = []
        self.batch_orders: set[int] = set()
        self.batch_users: dict[int, Profile] = {}
        self.next_address_id: int | None = None  # SQLite only
        self.insert_user = BulkInsert(connection, User, ("id", *USER_COLUMNS, "is_staff", "created_at"))
        self.insert_address = BulkInsert(connection, Address, ("id", *ADDRESS_COLUMNS))
        self.insert_order = BulkInsert(connection, Order, ("id", "project_id", *ORDER_COLUMNS,
                                                           "shipping_address_id", "billing_address_id"))
        self.insert_item = BulkInsert(connection, OrderItem, ("order_id", *ITEM_COLUMNS))

    def add(self, raw: bytes | None, number: int) -> None:
        """Line `number` of the input; None for a line too long to read. Blank lines are skipped (line
        numbers count them)."""
        self.result.lines += 1
        if raw is not None and not raw.strip():
            self.result.blank_lines += 1
            return
        if raw is None:
            self._report([FieldProblem([f"line {number}"], f"is longer than {jsonlines.MAX_LINE_BYTES} bytes",
                                       "DeserializationError")])
            return
        try:
            line = parse_line(raw, number, self.project_id, self.currency)
        except InvalidInput as exc:
            self._report(exc.problems)
            return
        # A second line for an order or user of this batch applies after the first: a batch of its own.
        if line.id in self.batch_orders or line.user and self.batch_users.setdefault(*line.user) != line.user[1]:
            self._flush()
        self.batch.append(line)
        self.batch_orders.add(line.id)
        if line.user:
            self.batch_users[line.user[0]] = line.user[1]
        if len(self.batch) >= BATCH_LINES:
            self._flush()

    def finish(self) -> ImportResult:
        self._flush()
        lines = self.result.lines
        # In line order: a batch's checks against the database report after the lines read since.
        self.problems.sort(key=lambda problem: int(problem.field_names[0].removeprefix("line ")))
        if lines == self.result.blank_lines:
            self.problems.append(FieldProblem([], "has no order lines: send one JSON order per line",
                                              "DeserializationError"))
        elif self.unlisted:
            self.problems.append(FieldProblem([], f"{self.unlisted} more problems are not listed: {self.bad_lines} "
                                              f"of the {lines} lines are bad"))
        if self.problems:
            raise ImportRefused(self.problems, lines=lines, bad_lines=self.bad_lines)
        return self.result

    def _report(self, problems: list[FieldProblem]) -> None:
        """One bad line's problems."""
        self.bad_lines += 1
        room = max(0, jsonlines.MAX_PROBLEMS - len(self.problems))
        self.problems += problems[:room]
        self.unlisted += len(problems[room:])

    def _flush(self) -> None:
        lines, self.batch = self.batch, []
        self.batch_orders.clear()
        self.batch_users.clear()
        if lines:
            self._write(*self._check(lines))

    # --- checks against the database -------------------------------------------------------------

    def _check(self, lines: list[OrderLine]) -> tuple[
            list[OrderLine], dict[int, _StoredOrder], dict[int, tuple[Profile, bool]]]:
        """The good lines, and the rows already there of their orders and embedded users."""
        problems: dict[int, list[FieldProblem]] = {}

        def problem(line: OrderLine, names: Sequence[str], message: str) -> None:
            problems.setdefault(line.number, []).append(FieldProblem([f"line {line.number}", *names], message))

        users = {user_id: (tuple(profile), is_staff) for user_id, *profile, is_staff in self._select(
            _SELECT_USERS, {line.user[0] for line in lines if line.user})}
        holders = dict(self._select(_SELECT_HOLDERS, {line.user[1][0] for line in lines if line.user}))
        for line in lines:
            if line.user:
                user_id, username = line.user[0], line.user[1][0]
                holder = holders.setdefault(username, user_id)  # or the first line of the batch to claim it
                if holder != user_id:
                    problem(line, ["user", "username"], f"is already the username of user {holder}")
        orders = {order_id: _StoredOrder(project_id, (user_id, UTCDateTime.from_driver(created_at), *rest), shipping,
                                         billing)
                  for order_id, project_id, user_id, created_at, *rest, shipping, billing
                  in self._select(_SELECT_ORDERS, {line.id for line in lines})}
        for line in lines:
            stored = orders.get(line.id)
            if stored is not None and stored.project_id != self.project_id:
                problem(line, ["id"], f"is order {line.id} of project {stored.project_id}, not of this project")
        unknown = {item[0] for line in lines for item in line.items} - self.rewards
        elsewhere = dict(self._select(_SELECT_REWARDS, unknown))
        for line in lines:
            for index, item in enumerate(line.items):
                if item[0] in elsewhere:
                    problem(line, ["items", str(index), "reward_id"],
                            f"is reward {item[0]} of project {elsewhere[item[0]]}, not of this project")
                elif item[0] in unknown:
                    problem(line, ["items", str(index), "reward_id"],
                            f"no reward {item[0]}: sync it with PUT /v1/rewards/{item[0]} first")
        # A user_id must name a user that exists, or one embedded by a good line of this batch.
        embedded = {line.user[0] for line in lines if line.user and line.number not in problems}
        named = {line.values[0] for line in lines if not line.user} - embedded
        existing = {user_id for user_id, in self._select(_SELECT_USER_IDS, named)}
        for line in lines:
            if not line.user and line.values[0] not in embedded | existing:
                problem(line, ["user_id"], f"no user {line.values[0]}: embed the user object, or sync the user first")
        for line in lines:
            if line.number in problems:
                self._report(problems[line.number])
        return [line for line in lines if line.number not in problems], orders, users

    def _select(self, sql: str, keys: Collection[object]) -> Sequence[Any]:
        """The rows of `sql`, its `IN ()` filled with `keys`, as the driver gives them: SQLAlchemy would
        compile an expanding IN again on each call, ~4 ms for a batch, and convert every value."""
        if not keys:
            return ()
        marks = ", ".join([self.mark] * len(keys))
        return self.connection.exec_driver_sql(sql.replace("IN ()", f"IN ({marks})"), tuple(keys)).all()

    # --- writes ----------------------------------------------------------------------------------

    def _write(self, lines: list[OrderLine], orders: dict[int, _StoredOrder],
               users: dict[int, tuple[Profile, bool]]) -> None:
        self._write_users(lines, users)
        old_addresses = {address_id: tuple(values) for address_id, *values in self._select(_SELECT_ADDRESSES, {
            address_id for stored in orders.values() for address_id in (stored.shipping, stored.billing)
            if address_id is not None})}
        old_items: dict[int, list[Item]] = {}
        for order_id, *item in self._select(_SELECT_ITEMS, orders.keys()):
            old_items.setdefault(order_id, []).append(tuple(item))
        new_addresses: list[AddressValues] = []  # ids are given once they are counted
        changed_addresses: list[dict[str, Any]] = []
        dropped_addresses: list[int] = []
        new_orders: list[list[Any]] = []
        changed_orders: list[dict[str, Any]] = []
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
            else:
                self.result.orders_unchanged += 1

        ids = self._address_ids(len(new_addresses))
        self.insert_address([(address_id, *values) for address_id, values in zip(ids, new_addresses, strict=True)])

        def resolved(address_id: int | None) -> int | None:
            return ids[-address_id - 1] if address_id is not None and address_id < 0 else address_id

        for values in new_orders:
            values[-2:] = resolved(values[-2]), resolved(values[-1])
        for changes in changed_orders:
            changes["shipping_address_id"] = resolved(changes["shipping_address_id"])
            changes["billing_address_id"] = resolved(changes["billing_address_id"])
        self._update(Address, ADDRESS_COLUMNS, changed_addresses)
        self.insert_order([tuple(values) for values in new_orders])
        self._update(Order, (*ORDER_COLUMNS, "shipping_address_id", "billing_address_id"), changed_orders)
        if new_orders:
            keep_sequence_ahead(self.session, "orders", max(values[0] for values in new_orders))
        if dropped_addresses:  # after the orders that pointed at them
            self.connection.execute(delete(Address).where(Address.id.in_(dropped_addresses)))
        if replaced_items:
            self.connection.execute(delete(OrderItem).where(OrderItem.order_id.in_(replaced_items)))
        self.insert_item(new_items)

    def _write_users(self, lines: list[OrderLine], users: dict[int, tuple[Profile, bool]]) -> None:
        """Embedded users: created, or their profile updated. Staff accounts are left as they are, and
        no line sets `is_staff` or a password (rules.orders.NOT_IMPORTED): an order import changes no one's access."""
        created: dict[int, tuple[Any, ...]] = {}
        changed: dict[int, dict[str, Any]] = {}
        now = utcnow()
        for line in lines:
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

    def _address_ids(self, count: int) -> list[int]:
        if not count:
            return []
        if self.postgresql:
            return list(self.connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('addresses', 'id')) FROM generate_series(1, %(count)s)",
                {"count": count}).scalars())
        if self.next_address_id is None:  # SQLite, under the write lock: nobody else adds rows
            self.next_address_id = int(self.connection.exec_driver_sql(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM addresses").scalar_one())
        first = self.next_address_id
        self.next_address_id += count
        return list(range(first, first + count))


def _lock(connection: Connection, postgresql: bool) -> None:
    if postgresql:
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": _PG_IMPORT_LOCK})
    # The driver's connection is None only once closed; sqlite3's has in_transaction.
    elif not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
