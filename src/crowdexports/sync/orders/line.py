"""One line of an order import read into an `OrderLine`, by the fields' rules (crowdexports.rules.orders),
with no database: its values in the column order of the rows the import writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crowdexports import ids
from crowdexports.errors import InvalidInput
from crowdexports.rules.decoding import decode_json
from crowdexports.rules.orders import (
    ADDRESS,
    CREATED_AT,
    EMBEDDED_USER_ID,
    ID,
    ITEM,
    MAX_ITEMS,
    NOT_IMPORTED,
    NOTE,
    ORDER,
    PROFILE,
    TOTALS,
    TRACKING,
    USER_ID,
)
from crowdexports.rules.reader import Reader
from crowdexports.rules.users import display_name

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
_NOTE = (NOTE,)  # a table of one, read by texts() itself: a line costs a call less


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


def _platform_id(reader: Reader, kind: str, row_id: int, *path: str) -> None:
    """An id this line would create or replace a row under: never one of this service's own rows."""
    if ids.is_local(row_id):
        reader.problem(path, ids.refusal(kind, row_id))


def _address(reader: Reader, body: dict[str, Any], name: str) -> AddressValues | None:
    value = body.get(name)
    if value is None:
        return None
    values = reader.texts(reader.json_object(value, name), ADDRESS, name)
    values[_COUNTRY] = values[_COUNTRY].upper()
    return tuple(values)


def _items(reader: Reader, body: dict[str, Any], currency: str) -> tuple[Item, ...]:
    value = body.get("items")
    if value is None:
        return ()
    if type(value) is not list:
        reader.problem(["items"], "must be a list", "TypeError")
        return ()
    if len(value) > MAX_ITEMS:
        reader.problem(["items"], f"must have at most {MAX_ITEMS} items")
        return ()
    reward_id, quantity, unit_price, line_total, line_shipping_total = ITEM
    items = []
    for index, entry in enumerate(value):
        path = ("items", str(index))
        item = reader.json_object(entry, *path)
        count = reader.integer(item, quantity, *path)  # its problem is listed before the reward id's
        items.append((reader.integer(item, reward_id, *path), count, reader.amount(item, unit_price, currency, *path),
                      reader.amount(item, line_total, currency, *path),
                      reader.amount(item, line_shipping_total, currency, *path)))
    return tuple(items)


def _user(reader: Reader, body: dict[str, Any]) -> tuple[int, tuple[int, Profile] | None]:
    """(user id, (user id, profile) of the embedded user, or None when the line gives `user_id`)."""
    if body.get("user") is None:
        if body.get("user_id") is None:
            reader.problem(["user"], "is required: the user object, or the user_id of a user synced before",
                           "RequiredError")
            return 0, None
        return reader.integer(body, USER_ID), None
    user = reader.json_object(body["user"], "user")
    user_id = reader.integer(user, EMBEDDED_USER_ID, "user")
    _platform_id(reader, "user", user_id, "user", "id")
    for name in NOT_IMPORTED:
        if user.get(name) is not None:
            reader.problem(["user", name], f"cannot be set by an order import, which gives and takes no access: "
                           f"sync the user with PUT /v1/users/{user_id}", "PermissionError")
    username, email, first_name, last_name, name, lang = reader.texts(user, PROFILE, "user")
    if body.get("user_id") not in (None, user_id):
        reader.problem(["user_id"], "must be the embedded user's id (or absent)")
    profile = (username, email, first_name, last_name, display_name(name, first_name, last_name), lang)
    return user_id, (user_id, profile)


def parse_line(raw: bytes, number: int, project_id: int, currency: str) -> OrderLine:
    """Line `number` of an import into `project_id` (whose currency the amounts are in) as an
    OrderLine, or InvalidInput naming every problem, each path starting with "line N". Fields that
    are not ours are ignored: a line is the platform's whole resource."""
    reader = Reader([f"line {number}"])
    try:
        decoded = decode_json(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one
        reader.problem([], f"is not JSON: {exc}", "DeserializationError")
        raise InvalidInput(reader.problems) from None
    body = reader.json_object(decoded)
    if reader.problems:  # not an object: none of its fields is worth a problem of its own
        raise InvalidInput(reader.problems)
    order_id = reader.integer(body, ID)
    _platform_id(reader, "order", order_id, "id")
    if body.get("project_id") not in (None, project_id):
        reader.problem(["project_id"], f"must be {project_id}, the project of this import (or absent)")
    user_id, user = _user(reader, body)
    created_at = reader.moment(body, CREATED_AT)
    status, payment_method = reader.texts(body, ORDER)
    total, subtotal, shipping_total = (reader.amount(body, rule, currency) for rule in TOTALS)
    note, = reader.texts(body, _NOTE)
    tracking_source = tracking_medium = ""
    if body.get("tracking") is not None:
        tracking = reader.json_object(body["tracking"], "tracking")
        tracking_source, tracking_medium = reader.texts(tracking, TRACKING, "tracking")
    shipping, billing = _address(reader, body, "shipping_address"), _address(reader, body, "billing_address")
    items = _items(reader, body, currency)
    if reader.problems:
        raise InvalidInput(reader.problems)
    values = (user_id, created_at, status, payment_method, total, subtotal, shipping_total, note,
              tracking_source, tracking_medium)
    return OrderLine(number, order_id, values, user, shipping, billing, items)
