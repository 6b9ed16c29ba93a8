"""The values of a request's path and query string, from their text: a path id that names nothing is 404,
a query parameter that is not what it should be is 400, never a 500 or a database read."""

from __future__ import annotations

import re
from decimal import Decimal

from crowdexports.errors import NotFound, invalid
from crowdexports.exports.listing import MAX_LIMIT
from crowdexports.ids import MAX_ID

ID = re.compile(r"[0-9]{1,19}")
LIMIT = re.compile(r"[0-9]+")
SINCE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
MAX_SINCE = Decimal(253402300799)  # 9999-12-31T23:59:59Z: later instants overflow a datetime


def parse_id(raw: str) -> int:
    """A path id; anything that is not one names nothing, so it is NotFound (never a 500)."""
    if not ID.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise NotFound(f"{raw[:40]!r} is not an id")
    return int(raw)


def parse_limit(raw: str | None) -> int:
    """Page size from the query string: default and maximum 20 (larger values are clamped)."""
    if raw is None:
        return MAX_LIMIT
    digits = raw.lstrip("0")
    if not LIMIT.fullmatch(raw) or not digits:
        raise invalid("limit", f"must be a whole number of 1 or more (a page holds at most {MAX_LIMIT})")
    return MAX_LIMIT if len(digits) > 2 else min(int(digits), MAX_LIMIT)


def parse_since(raw: str | None) -> Decimal | None:
    """A timestamp in seconds, from its text (never through a float): `1700000000` or `1700000000.123456`."""
    if raw is None:
        return None
    if not SINCE.fullmatch(raw) or Decimal(raw) >= MAX_SINCE:
        raise invalid("since", "must be a timestamp in seconds such as 1700000000.123456")
    return Decimal(raw)
