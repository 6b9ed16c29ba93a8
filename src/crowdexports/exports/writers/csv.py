"""csv, in one of two dialects (`writers.base.CsvDialect`), both UTF-8 with a byte-order mark and CRLF:

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
from collections.abc import Callable, Iterable, Sequence
from operator import call
from pathlib import Path
from typing import Any

from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.base import CsvDialect, SheetInfo
from crowdexports.exports.writers.cells import (
    format_datetime,
    format_money,
    format_money_decimal_comma,
    safe_text,
)

BOM = "\ufeff"


def _as_is(value: object) -> object:
    return value


# The csv module writes None as an empty field and an int as its digits.
_FORMATTERS: dict[ColumnKind, Callable[[Any], object]] = {
    ColumnKind.INTEGER: _as_is,
    ColumnKind.TEXT: safe_text,
    ColumnKind.IDENTIFIER: safe_text,
    ColumnKind.MONEY: format_money,
    ColumnKind.DATETIME: format_datetime,
}
# What each dialect changes: the field separator, and the formatters that differ from _FORMATTERS.
_DIALECTS: dict[CsvDialect, tuple[str, dict[ColumnKind, Callable[[Any], object]]]] = {
    CsvDialect.RFC4180: (",", _FORMATTERS),
    CsvDialect.EXCEL_EU: (";", {**_FORMATTERS, ColumnKind.MONEY: format_money_decimal_comma}),
}


class CsvWriter:
    format = "csv"
    extension = "csv"
    mime_type = "text/csv; charset=utf-8"

    def write(self, path: Path, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo) -> int:
        delimiter, by_kind = _DIALECTS[info.csv_dialect]
        formatters = [by_kind[column.kind] for column in columns]
        count = 0
        # Not the "utf-8-sig" codec: its encoder is pure Python, called on every row.
        with path.open("w", encoding="utf-8", newline="") as file:
            file.write(BOM)
            writer = csv.writer(file, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow([safe_text(column.header) for column in columns])
            writerow = writer.writerow
            for row in rows:
                writerow(map(call, formatters, row))  # each cell through its column's formatter, in C
                count += 1
        return count
