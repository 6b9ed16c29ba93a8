"""The export form: its fields as they are shown (the catalogue, the default set ticked) and, posted,
the same request body as `POST /v1/projects/{id}/exports` takes, which the API's own checks then judge.

Columns are picked with a checkbox each, renamed in a text field and ordered by a position number, so
the whole form works without JavaScript and from the keyboard alone.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import FormData

from crowdexports.exports import idempotency
from crowdexports.exports.types.base import Column
from crowdexports.exports.writers.csv import CsvDialect

EXPORT_TYPE = "orders"  # the one type there is; the form names it in a hidden field
FORMATS = ("csv", "xlsx")
DIALECTS = tuple(dialect.value for dialect in CsvDialect)
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
class ExportForm:
    format: str
    csv_dialect: str
    columns: list[ColumnChoice]


def defaults(catalogue: Sequence[Column], lang: str) -> ExportForm:
    """The form as first shown: csv, the default dialect, every column of the catalogue in its order."""
    return ExportForm(FORMATS[0], DIALECTS[0], [ColumnChoice(column.id, column.header(lang), column.header(lang),
                                                             position, True)
                                                for position, column in enumerate(catalogue, 1)])


def _position(raw: object, fallback: int) -> int:
    return int(raw) if isinstance(raw, str) and raw.strip().isdigit() else fallback


def posted(catalogue: Sequence[Column], lang: str, form: FormData) -> ExportForm:
    """The form as the visitor left it, to show it again with the problems found."""
    ticked = set(form.getlist("column"))
    choices = [ColumnChoice(column.id, column.header(lang), str(form.get(f"header.{column.id}", column.header(lang))),
                            _position(form.get(f"position.{column.id}"), len(catalogue) + index),
                            column.id in ticked)
               for index, column in enumerate(catalogue, 1)]
    return ExportForm(str(form.get("format", "")), str(form.get("csv_dialect", DIALECTS[0])),
                      sorted(choices, key=lambda choice: choice.position))


def payload(form: ExportForm, catalogue: Sequence[Column], file_lang: str) -> dict[str, object]:
    """The API's request body. The columns are left out (the type's defaults, headers in the recipient's
    language `file_lang`) when the form asks for exactly those; a dialect is sent for csv only."""
    chosen = {choice.id: choice.header for choice in form.columns if choice.ticked}
    default = {column.id: column.header(file_lang) for column in catalogue}
    columns = None if list(chosen.items()) == list(default.items()) else chosen
    return {"type": EXPORT_TYPE, "format": form.format, "columns": columns,
            "csv_dialect": form.csv_dialect if form.format == "csv" else None}
