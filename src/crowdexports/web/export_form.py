"""The export form: its fields as they are shown (the catalogue, the default set ticked) and, posted,
the same request body as `POST /v1/projects/{id}/exports` takes, which the API's own checks then judge.

Columns are picked with a checkbox each, renamed in a text field and ordered by a position number, so
the whole form works without JavaScript and from the keyboard alone. Filters (issue 15) are plain
controls too: a checkbox per status, two date fields, text fields of codes and ids, a select; the form's
`to` date is the last day included (what a person means), sent as the API's exclusive `to`, the next day.

The row layout (issue 16) is a select, one plain sentence per layout; all columns ticked as first
shown send `columns` null, which is the layout's default set (`orders` leaves out the unit price).

A form filled from a preset names it (a hidden field): its fields override the preset's, and the preset's
settings the form does not show are kept (`exports.presets`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from starlette.datastructures import FormData

from crowdexports.exports import idempotency
from crowdexports.exports.types import order_layouts
from crowdexports.exports.types.base import Column
from crowdexports.exports.writers.csv import CsvDialect
from crowdexports.rules.exports import CHANGES_SINCE

EXPORT_TYPE = "orders"  # the one type there is; the form names it in a hidden field
FORMATS = ("csv", "xlsx")
DIALECTS = tuple(dialect.value for dialect in CsvDialect)
LAYOUTS = tuple(layout.value for layout in order_layouts.Layout)
SHIPPING = {"any": None, "yes": True, "no": False}
_SEPARATORS = re.compile(r"[\s,;]+")
KEY_FIELD = "idempotency_key"  # hidden: the form's Idempotency-Key


def fresh_key() -> str:
    """A new key for each form shown: sending that form twice (a double click, a reload) makes one export."""
    return secrets.token_urlsafe(24)


def key_of(form: FormData) -> str | None:
    """The posted form's key (checked as the header is: a 400 on `Idempotency-Key` unless well formed)."""
    raw = form.get(KEY_FIELD)
    return idempotency.parse_key(raw) if isinstance(raw, str) else None


@dataclass(frozen=True)
class ColumnChoice:
    id: str
    label: str  # the column's name in the page's language
    header: str  # the header the file will have
    position: int
    ticked: bool


@dataclass(frozen=True)
class FilterChoice:
    """The filter fields as typed: shown again as they were when the request is refused."""

    status: tuple[str, ...] = ()
    created_from: str = ""  # YYYY-MM-DD, the first day included
    created_until: str = ""  # YYYY-MM-DD, the last day included
    country: str = ""  # codes separated by commas or spaces
    has_shipping_address: str = "any"  # a key of SHIPPING
    reward_ids: str = ""  # ids separated by commas or spaces


@dataclass(frozen=True)
class ExportForm:
    format: str
    csv_dialect: str
    columns: list[ColumnChoice]
    filters: FilterChoice = field(default_factory=FilterChoice)
    preset: int | None = None  # the preset the form was filled from
    changes_since: bool = False  # only the orders changed since the project's last export ("last")
    layout: str = order_layouts.DEFAULT.value  # the API's `layout`


def defaults(catalogue: Sequence[Column], lang: str, zone: str) -> ExportForm:
    """The form as first shown: csv, the default dialect, every column of the catalogue in its order, with
    the header its file would have (a date's naming `zone`, the project's time zone)."""
    return ExportForm(FORMATS[0], DIALECTS[0], [ColumnChoice(column.id, column.header(lang), column.header(lang, zone),
                                                             position, True)
                                                for position, column in enumerate(catalogue, 1)])


def from_preset(preset_id: int, settings: Mapping[str, Any], catalogue: Sequence[Column], lang: str,
                zone: str) -> ExportForm:
    """The form filled from a preset's settings: its columns ticked in its order with its headers, the
    others after them unticked; what it leaves out as first shown."""
    form = defaults(catalogue, lang, zone)
    chosen = settings.get("columns")
    columns = form.columns
    if isinstance(chosen, Mapping):
        order = {column_id: position for position, column_id in enumerate(chosen, 1)}
        columns = sorted((ColumnChoice(choice.id, choice.label, str(chosen.get(choice.id, choice.header)),
                                       order.get(choice.id, len(order) + choice.position), choice.id in order)
                          for choice in form.columns), key=lambda choice: choice.position)
        columns = [ColumnChoice(choice.id, choice.label, choice.header, position, choice.ticked)
                   for position, choice in enumerate(columns, 1)]
    return ExportForm(str(settings.get("format") or form.format), str(settings.get("csv_dialect") or form.csv_dialect),
                      columns, _filter_choice(settings.get("filters")), preset_id,
                      settings.get(CHANGES_SINCE.name) == CHANGES_SINCE.keyword,
                      str(settings.get(order_layouts.NAME) or form.layout))


def _filter_choice(filters: object) -> FilterChoice:
    """A preset's filters as the form's fields (what filters_payload turns back into them). The form has
    days: a date-time in the preset shows as its day, and `to` (exclusive) as the last day included."""
    if not isinstance(filters, Mapping):
        return FilterChoice()
    created = filters.get("created") if isinstance(filters.get("created"), Mapping) else {}
    assert isinstance(created, Mapping)
    shipping = {value: key for key, value in SHIPPING.items()}.get(filters.get("has_shipping_address"), "any")
    return FilterChoice(tuple(str(status) for status in filters.get("status") or ()),
                        str(created.get("from") or "")[:10], _day_before(str(created.get("to") or "")),
                        ", ".join(str(code) for code in filters.get("country") or ()), shipping,
                        ", ".join(str(reward) for reward in filters.get("reward_ids") or ()))


def _day_before(value: str) -> str:
    """The last day included of an exclusive `to`: the day before at midnight, else the day itself."""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return ""
    midnight = len(value) == 10 or value[10:].lstrip("T ").strip("0:.") == ""
    return (day - timedelta(days=1)).isoformat() if midnight else day.isoformat()


def _position(raw: object, fallback: int) -> int:
    return int(raw) if isinstance(raw, str) and raw.strip().isdigit() else fallback


def posted(catalogue: Sequence[Column], lang: str, form: FormData) -> ExportForm:
    """The form as the visitor left it, to show it again with the problems found."""
    ticked = set(form.getlist("column"))
    choices = [ColumnChoice(column.id, column.header(lang), str(form.get(f"header.{column.id}", column.header(lang))),
                            _position(form.get(f"position.{column.id}"), len(catalogue) + index),
                            column.id in ticked)
               for index, column in enumerate(catalogue, 1)]
    filters = FilterChoice(tuple(str(value) for value in form.getlist("status")),
                           str(form.get("created_from", "")).strip(), str(form.get("created_until", "")).strip(),
                           str(form.get("country", "")), str(form.get("has_shipping_address", "any")),
                           str(form.get("reward_ids", "")))
    preset = form.get("preset")
    return ExportForm(str(form.get("format", "")), str(form.get("csv_dialect", DIALECTS[0])),
                      sorted(choices, key=lambda choice: choice.position), filters,
                      int(preset) if isinstance(preset, str) and preset.isascii() and preset.isdigit() else None,
                      form.get(CHANGES_SINCE.name) == CHANGES_SINCE.keyword,
                      str(form.get(order_layouts.NAME, order_layouts.DEFAULT.value)))


def _words(text: str) -> list[str]:
    return [word for word in _SEPARATORS.split(text) if word]


def _day_after(value: str) -> str:
    """The API's exclusive `to` for a last day included; a value that is not a date goes as it is, for
    the API's checks to name."""
    try:
        return (date.fromisoformat(value) + timedelta(days=1)).isoformat() if len(value) == 10 else value
    except ValueError:
        return value


def filters_payload(choice: FilterChoice) -> dict[str, Any] | None:
    """The API's `filters`, or None (every row) when no field is set. Values are passed on as typed (an
    id that is not a number as text): the API's checks judge them, and name them."""
    created = {end: value for end, value in (("from", choice.created_from),
                                             ("to", _day_after(choice.created_until))) if value}
    given: dict[str, Any] = {
        "status": list(choice.status), "created": created, "country": _words(choice.country),
        "has_shipping_address": SHIPPING.get(choice.has_shipping_address, choice.has_shipping_address),
        "reward_ids": [int(word) if word.isdigit() else word for word in _words(choice.reward_ids)],
    }
    filters = {name: value for name, value in given.items() if value not in (None, [], {})}
    return filters or None


def payload(form: ExportForm, catalogue: Sequence[Column], file_lang: str, zone: str) -> dict[str, object]:
    """The API's request body. The columns are null (the type's defaults, headers in the recipient's
    language `file_lang`, dates naming the project's `zone`) when the form asks for exactly those; a
    dialect is sent for csv only; the preset the form was filled from, if any."""
    chosen = {choice.id: choice.header for choice in form.columns if choice.ticked}
    default = {column.id: column.header(file_lang, zone) for column in catalogue}
    columns = None if list(chosen.items()) == list(default.items()) else chosen
    body: dict[str, object] = {"type": EXPORT_TYPE, "format": form.format, "columns": columns,
                               "csv_dialect": form.csv_dialect if form.format == "csv" else None,
                               "filters": filters_payload(form.filters),
                               CHANGES_SINCE.name: CHANGES_SINCE.keyword if form.changes_since else None,
                               order_layouts.NAME: form.layout}
    return body if form.preset is None else {**body, "preset": form.preset}
