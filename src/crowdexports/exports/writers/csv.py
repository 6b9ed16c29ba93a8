"""csv, in one of two dialects (`CsvDialect`, the writer's one option, `CsvOptions`), both UTF-8 with a
byte-order mark and CRLF:

- `rfc4180` (the default): RFC 4180, comma separator, `"` quoting when needed, money as `1234.50`;
- `excel_eu`: what Excel expects in locales with a decimal comma (French, German, ...): `;` separator,
  money as `1234,50`. Integers, dates and the text rules are the same in both.

The BOM is what makes Excel read the file as UTF-8 instead of the machine's ANSI code page (names
like "Émilie" or "東京" would otherwise be garbled); Python's `utf-8-sig`, pandas, LibreOffice and
Numbers all skip it. Cell rules (formula neutralising, control characters, money and date text)
come from `cells`; each column's formatter is chosen once from its kind and the dialect, never per cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.exports.options import Options, check_mapping
from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.base import Output, SheetInfo
from crowdexports.exports.writers.cells import (
    MAYBE_FORMULA,
    format_datetime,
    format_money,
    format_money_decimal_comma,
    safe_text,
)


class CsvDialect(StrEnum):
    """The csv flavours an export may ask for (the API's `csv_dialect`). The one list: request validation,
    the API docs and this writer (which maps each to its separator and money text) all read it from here."""

    RFC4180 = "rfc4180"  # comma, decimal point: Excel in English locales, and every other program
    EXCEL_EU = "excel_eu"  # semicolon, decimal comma: what Excel expects in French, German, ... locales


@dataclass(frozen=True)
class CsvOptions:
    """The csv writer's options (stored as `{"dialect": ...}`)."""

    dialect: CsvDialect = CsvDialect.RFC4180

    def to_json(self) -> dict[str, Any]:
        return {"dialect": self.dialect.value}


def parse_csv_options(raw: object) -> CsvOptions:
    values = check_mapping(raw, ("dialect",))
    dialect = values.get("dialect")
    if dialect is None:
        return CsvOptions()
    if not isinstance(dialect, str):
        raise InvalidInput([FieldProblem(["dialect"], "must be a string", "TypeError")])
    if dialect not in set(CsvDialect):
        raise InvalidInput([FieldProblem(["dialect"], f"must be one of: {', '.join(CsvDialect)}")])
    return CsvOptions(CsvDialect(dialect))


BOM = "\ufeff"
_TEXT_KINDS = (ColumnKind.TEXT, ColumnKind.IDENTIFIER)
_TYPED_KINDS = (ColumnKind.MONEY, ColumnKind.DATETIME)  # INTEGER needs nothing: csv writes None as "", ints as digits

# How each dialect writes the typed kinds, and its field separator.
_DIALECTS: dict[CsvDialect, tuple[str, dict[ColumnKind, Callable[[Any], str | None]]]] = {
    CsvDialect.RFC4180: (",", {ColumnKind.MONEY: format_money, ColumnKind.DATETIME: format_datetime}),
    CsvDialect.EXCEL_EU: (";", {ColumnKind.MONEY: format_money_decimal_comma, ColumnKind.DATETIME: format_datetime}),
}


class CsvWriter:
    format = "csv"
    extension = "csv"
    mime_type = "text/csv; charset=utf-8"

    def parse_options(self, raw: object) -> CsvOptions:
        return parse_csv_options(raw)

    def write(self, path: Output, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo, options: Options | None = None) -> int:
        chosen = options if isinstance(options, CsvOptions) else CsvOptions()
        delimiter, by_kind = _DIALECTS[chosen.dialect]
        typed = [(index, by_kind[column.kind]) for index, column in enumerate(columns) if column.kind in _TYPED_KINDS]
        texts = [index for index, column in enumerate(columns) if column.kind in _TEXT_KINDS]
        count = 0
        # Not the "utf-8-sig" codec: its encoder is pure Python, called on every row.
        with _open_text(path) as file:
            file.write(BOM)
            writer = csv.writer(file, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow([safe_text(column.header) for column in columns])
            writerow, needs_care = writer.writerow, _text_check(texts)
            for row in rows:
                values: list[Any] = list(row)
                for index, format_cell in typed:
                    values[index] = format_cell(values[index])
                if needs_care(row):
                    for index in texts:
                        values[index] = safe_text(values[index])
                writerow(values)
                count += 1
        return count


def _open_text(path: Output) -> IO[str]:
    if isinstance(path, Path):
        return path.open("w", encoding="utf-8", newline="")
    return io.TextIOWrapper(path, encoding="utf-8", newline="")


def _text_check(texts: Sequence[int]) -> Callable[[Sequence[object]], bool]:
    """Whether any text cell of a row needs `safe_text`, checked for the whole row at C speed: most
    rows hold only printable text that no spreadsheet could read as a formula, and are written as is."""
    if not texts:
        return lambda _row: False
    first_character = itemgetter(0)
    pick = itemgetter(*texts) if len(texts) > 1 else lambda row: (row[texts[0]],)

    def needs_care(row: Sequence[object]) -> bool:
        present = tuple(filter(None, pick(row)))
        return not ("".join(present).isprintable() and MAYBE_FORMULA.isdisjoint(map(first_character, present)))

    return needs_care
