"""The orders export's filters (issue 15): which orders, and which of their items, an export keeps.

Pure: parsing, the stored form and the UTC range of `created`; the SQL is the export type's
(types/orders.py) and the plain words filter_words'. Decisions (docs/decisions.md, "Order filters"):
- `status`: the platform's statuses (rules.orders.STATUSES), any of them;
- `reward_ids`: the rows of the items with one of these rewards (an order without them is left out,
  and of an order with others only those items are written);
- `created`: `from` inclusive, `to` exclusive, each a date (local midnight) or a date-time without
  offset, both read in the project's time zone when the export runs;
- `country`: ISO 3166-1 alpha-2 codes of the shipping address (any case, stored upper case);
- `has_shipping_address`: whether the order has one.
Lists are not empty (a filter matching nothing is a mistake) and at most MAX_LIST long; repeats are
dropped, order kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.rules.countries import COUNTRIES
from crowdexports.rules.kinds import MAX_ID
from crowdexports.rules.orders import STATUSES
from crowdexports.rules.reader import MAX_NAME_IN_ERROR

MAX_REWARD_IDS = 100
MAX_COUNTRIES = len(COUNTRIES)
NAMES = ("status", "reward_ids", "created", "country", "has_shipping_address")
RANGE_ENDS = ("from", "to")
# YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS]: ASCII digits only (fromisoformat takes others), no offset.
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", re.ASCII)
DATE_RULE = "must be a date such as 2026-11-01 or a date-time without offset such as 2026-11-01T09:30"


@dataclass(frozen=True)
class OrderFilters:
    """The filters of one export; None or () is no filter on that field."""

    status: tuple[str, ...] = ()
    reward_ids: tuple[int, ...] = ()
    created_from: str | None = None  # as given: a date or a local date-time (see _LOCAL)
    created_to: str | None = None
    country: tuple[str, ...] = ()
    has_shipping_address: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored and shown form: only the filters set, as a request gives them."""
        created = {end: value for end, value in (("from", self.created_from), ("to", self.created_to)) if value}
        shown: dict[str, Any] = {"status": list(self.status), "reward_ids": list(self.reward_ids),
                                 "created": created, "country": list(self.country),
                                 "has_shipping_address": self.has_shipping_address}
        return {name: value for name, value in shown.items() if value not in (None, [], {})}

    def created_range(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """`created` as UTC instants in `zone`: [from, to)."""
        return _instant(self.created_from, zone), _instant(self.created_to, zone)


NO_FILTERS = OrderFilters()


def local_moment(value: str) -> datetime:
    """A date (its midnight) or a local date-time, naive."""
    if len(value) == len("2026-11-01"):
        return datetime.combine(date.fromisoformat(value), datetime.min.time())
    return datetime.fromisoformat(value)


def _instant(value: str | None, zone: ZoneInfo) -> datetime | None:
    """A local moment in `zone` as UTC; a time skipped or repeated by a DST change takes the offset
    before the change (fold=0), as zoneinfo does."""
    return None if value is None else local_moment(value).replace(tzinfo=zone).astimezone(UTC)


def parse_filters(raw: object) -> OrderFilters:
    """The filters of a request's `filters` object; InvalidInput with every problem under "filters"."""
    problems: list[FieldProblem] = []
    if raw is None:
        return NO_FILTERS
    if not isinstance(raw, Mapping):
        raise InvalidInput([FieldProblem(["filters"], "must be a JSON object", "TypeError")])
    problems += [FieldProblem(["filters", str(name)[:MAX_NAME_IN_ERROR]], "unknown filter", "UnknownFieldError")
                 for name in raw if name not in NAMES]
    status = _list(raw, "status", str, len(STATUSES), problems)
    if any(value not in STATUSES for value in status):
        problems.append(FieldProblem(["filters", "status"], f"must hold only: {', '.join(STATUSES)}"))
    reward_ids = _list(raw, "reward_ids", int, MAX_REWARD_IDS, problems)
    if any(not 0 < value <= MAX_ID for value in reward_ids):
        problems.append(FieldProblem(["filters", "reward_ids"], "must hold only positive ids"))
    country = tuple(dict.fromkeys(code.upper() for code in _list(raw, "country", str, MAX_COUNTRIES, problems)))
    if any(code not in COUNTRIES for code in country):
        problems.append(FieldProblem(["filters", "country"],
                                     "must hold only ISO 3166-1 alpha-2 country codes such as 'FR'"))
    created_from, created_to = _created(raw.get("created"), problems)
    has_shipping_address = raw.get("has_shipping_address")
    if has_shipping_address is not None and type(has_shipping_address) is not bool:
        problems.append(FieldProblem(["filters", "has_shipping_address"], "must be true or false", "TypeError"))
        has_shipping_address = None
    if problems:
        raise InvalidInput(problems)
    return OrderFilters(status, reward_ids, created_from, created_to, country, has_shipping_address)


def _list(raw: Mapping[Any, Any], name: str, kind: type, most: int, problems: list[FieldProblem]) -> tuple[Any, ...]:
    """A list of `kind` (bool is not an int here), 1 to `most` items, repeats dropped; () if absent or bad."""
    value = raw.get(name)
    if value is None:
        return ()
    if type(value) is not list or any(type(item) is not kind for item in value):
        noun = "integers" if kind is int else "strings"
        problems.append(FieldProblem(["filters", name], f"must be a list of {noun}", "TypeError"))
        return ()
    if not value or len(value) > most:
        problems.append(FieldProblem(["filters", name], f"must hold 1 to {most} values"))
        return ()
    return tuple(dict.fromkeys(value))


def _created(raw: object, problems: list[FieldProblem]) -> tuple[str | None, str | None]:
    """`created`'s ends, checked; an empty range (from not before to) is a problem on `created`."""
    if raw is None:
        return None, None
    if not isinstance(raw, Mapping):
        problems.append(FieldProblem(["filters", "created"], 'must be an object such as {"from": "2026-11-01"}',
                                     "TypeError"))
        return None, None
    before = len(problems)
    problems += [FieldProblem(["filters", "created", str(name)[:MAX_NAME_IN_ERROR]], "unknown field",
                              "UnknownFieldError") for name in raw if name not in RANGE_ENDS]
    ends: dict[str, str | None] = {}
    for end in RANGE_ENDS:
        value = raw.get(end)
        ends[end] = None
        if value is None:
            continue
        if type(value) is not str:
            problems.append(FieldProblem(["filters", "created", end], "must be a string", "TypeError"))
        elif not _valid_local(value):
            problems.append(FieldProblem(["filters", "created", end], DATE_RULE))
        else:
            ends[end] = value
    start, stop = ends["from"], ends["to"]
    if len(problems) == before:
        if start is None and stop is None:
            problems.append(FieldProblem(["filters", "created"], "must give from, to or both"))
        elif start is not None and stop is not None and local_moment(start) >= local_moment(stop):
            problems.append(FieldProblem(["filters", "created"], "is empty: from must be before to"))
    return start, stop


def _valid_local(value: str) -> bool:
    if not _LOCAL.fullmatch(value):
        return False
    try:
        local_moment(value)
    except ValueError:
        return False
    return True
