"""The fields of a line of an order import: a Ulule order resource (`POST /v1/projects/{id}/orders/import`,
`crowdexports import orders`). Its fields that are not here are ignored (a line is the platform's whole
resource), but the embedded user's NOT_IMPORTED ones. The tables are in the column order of the rows
the import writes (sync.orders.line)."""

from __future__ import annotations

from crowdexports.models import Address, Order
from crowdexports.rules import users
from crowdexports.rules.countries import COUNTRIES
from crowdexports.rules.kinds import MULTI_LINE, Amount, Integer, Moment, Text, choice

# SPEC §3: the platform's order statuses.
STATUSES = ("processing", "awaiting-confirmation", "payment-completed", "cancelled", "payment-done",
            "payment-invalid", "payment-reimbursed", "error")
ADDRESS_TYPES = ("personal", "business", "association")
MAX_ITEMS = 1000
MAX_NOTE = 32_767  # characters: what one spreadsheet cell holds
MAX_QUANTITY = 2**31 - 1  # the INTEGER column


def _country(code: str) -> bool:
    return not code or code.upper() in COUNTRIES  # any case, stored upper case; empty: unknown


ID = Integer("id")
USER_ID = Integer("user_id")  # a user there already, or else `user`, an embedded user object:
EMBEDDED_USER_ID = Integer("id")
PROFILE = users.PROFILE
# Fields of PUT /v1/users that an embedded user may not set (PermissionError): they give access.
NOT_IMPORTED = (users.IS_STAFF.name, users.PASSWORD.name)
CREATED_AT = Moment("created_at")
ORDER = (choice("status", STATUSES, required=True), Text.column(Order, "payment_method"))
TOTALS = (Amount("order_total"), Amount("order_subtotal"), Amount("order_shipping_total"))
NOTE = Text("note", MAX_NOTE, MULTI_LINE)
TRACKING = (Text.column(Order, "tracking_source", name="source"),
            Text.column(Order, "tracking_medium", name="medium"))
ADDRESS = (  # shipping_address and billing_address; Ulule's address1 is our address_1
    Text.column(Address, "first_name", characters=MULTI_LINE),
    Text.column(Address, "last_name", characters=MULTI_LINE),
    Text.column(Address, "entity_name", characters=MULTI_LINE),
    choice("type", ADDRESS_TYPES, default="personal"),
    Text.column(Address, "address_1", name="address1", characters=MULTI_LINE),
    Text.column(Address, "address_2", name="address2", characters=MULTI_LINE),
    Text.column(Address, "postal_code"),
    Text.column(Address, "city", characters=MULTI_LINE),
    Text.column(Address, "state", characters=MULTI_LINE),
    Text.column(Address, "country", check=_country, rule="must be an ISO 3166-1 alpha-2 country code such as 'FR'"),
    Text.column(Address, "phone_number"),
)
ITEM = (  # each of `items`
    Integer("reward_id"), Integer("quantity", high=MAX_QUANTITY, rule=f"must be from 1 to {MAX_QUANTITY}"),
    Amount("unit_price"), Amount("line_total"), Amount("line_shipping_total", required=False),
)
