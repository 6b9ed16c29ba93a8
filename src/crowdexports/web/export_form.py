"""The export form: its fields as they are shown (the catalogue, the default set ticked) and, posted,
the same request body as `POST /v1/projects/{id}/exports` takes, which the API's own checks then judge.

Columns are picked with a checkbox each, renamed in a text field and ordered by a position number, so
the whole form works without JavaScript and from the keyboard alone.

A form filled from a preset names it (a hidden field): its fields override the preset's, and the preset's
settings the form does not show are kept (`exports.presets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from crowdexports.exports.types.base import Column
from crowdexports.exports.writers.csv import CsvDialect

EXPORT_TYPE = "orders"  # the one type there is; the form names it in a hidden field
FORMATS = ("csv", "xlsx")
DIALECTS = tuple(dialect.value for dialect in CsvDialect)


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
    preset: int | None = None  # the preset the form was filled from


def defaults(catalogue: Sequence[Column], lang: str) -> ExportForm:
    """The form as first shown: csv, the default dialect, every column of the catalogue in its order."""
    return ExportForm(FORMATS[0], DIALECTS[0], [ColumnChoice(column.id, column.header(lang), column.header(lang),
                                                             position, True)
                                                for position, column in enumerate(catalogue, 1)])


def from_preset(preset_id: int, settings: Mapping[str, Any], catalogue: Sequence[Column], lang: str) -> ExportForm:
    """The form filled from a preset's settings: its columns ticked in its order with its headers, the
    others after them unticked; what it leaves out as first shown."""
    form = defaults(catalogue, lang)
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
                      columns, preset_id)


def _position(raw: object, fallback: int) -> int:
    return int(raw) if isinstance(raw, str) and raw.strip().isdigit() else fallback


def posted(catalogue: Sequence[Column], lang: str, form: FormData) -> ExportForm:
    """The form as the visitor left it, to show it again with the problems found."""
    ticked = set(form.getlist("column"))
    choices = [ColumnChoice(column.id, column.header(lang), str(form.get(f"header.{column.id}", column.header(lang))),
                            _position(form.get(f"position.{column.id}"), len(catalogue) + index),
                            column.id in ticked)
               for index, column in enumerate(catalogue, 1)]
    preset = form.get("preset")
    return ExportForm(str(form.get("format", "")), str(form.get("csv_dialect", DIALECTS[0])),
                      sorted(choices, key=lambda choice: choice.position),
                      int(preset) if isinstance(preset, str) and preset.isascii() and preset.isdigit() else None)


def payload(form: ExportForm, catalogue: Sequence[Column], file_lang: str) -> dict[str, object]:
    """The API's request body. The columns are null (the type's defaults, headers in the recipient's
    language `file_lang`) when the form asks for exactly those; a dialect is sent for csv only; the
    preset the form was filled from, if any."""
    chosen = {choice.id: choice.header for choice in form.columns if choice.ticked}
    default = {column.id: column.header(file_lang) for column in catalogue}
    columns = None if list(chosen.items()) == list(default.items()) else chosen
    body: dict[str, object] = {"type": EXPORT_TYPE, "format": form.format, "columns": columns,
                               "csv_dialect": form.csv_dialect if form.format == "csv" else None}
    return body if form.preset is None else {**body, "preset": form.preset}
