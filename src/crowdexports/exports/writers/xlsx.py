"""xlsx through XlsxWriter in constant_memory mode: one row in memory at a time, typed cells.

Each column's cell writer is chosen once from its kind: INTEGER and MONEY are number cells (money
with a format showing the currency's decimals and code), DATETIME are date cells, TEXT and
IDENTIFIER are always string cells, so a postal code keeps its leading zeros and text such as
`=1+1` can never become a formula. That is why xlsx keeps the exact text, without the csv's `'`
prefix: Excel shows the value of a string cell and never evaluates it. Empty text is an empty cell.

Excel's limits are handled, never silently: text over 32,767 characters (UTF-16 units) is cut and
ends with TRUNCATION_MARKER; past `rows_per_sheet` data rows the file continues on a new sheet with
the same header. Any other refusal by XlsxWriter (a negative return code) raises XlsxLimitError.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from crowdexports.errors import CrowdexportsError
from crowdexports.exports.filenames import sheet_title
from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.exports.writers.cells import clean_text, cut_utf16
from crowdexports.money import exponent

MAX_DATA_ROWS_PER_SHEET = 1_048_575  # Excel's 1,048,576 rows, less the header row
MAX_CELL_LENGTH = 32_767  # UTF-16 code units
TRUNCATION_MARKER = "… [truncated]"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
WIDTH_SAMPLE_ROWS = 100  # rows read ahead to size the columns
MIN_WIDTH, MAX_WIDTH = 8, 50
_WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}

Put = Callable[[int, int, object], int]  # (row, col, value) -> XlsxWriter return code


class XlsxLimitError(CrowdexportsError):
    """XlsxWriter refused a cell (it reports limits by return code, not by exception)."""


def fit_cell_text(text: str) -> str:
    """`text` cleaned and, past Excel's cell limit, cut so that it ends with TRUNCATION_MARKER."""
    text = clean_text(text)
    # Under half the limit in code points cannot exceed it in UTF-16 units: skip the encode.
    if len(text) <= MAX_CELL_LENGTH // 2 or len(text.encode("utf-16-le")) // 2 <= MAX_CELL_LENGTH:
        return text
    return cut_utf16(text, MAX_CELL_LENGTH - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER


def money_format(currency: str) -> str:
    """Excel number format with the currency's decimals and its code: `#,##0.00 "EUR"`."""
    decimals = exponent(currency)
    code = "".join(ch for ch in currency.upper() if ch.isalnum())
    return "#,##0" + ("." + "0" * decimals if decimals else "") + f' "{code}"'


def _shown_length(kind: ColumnKind, value: object) -> int:
    if kind is ColumnKind.DATETIME:
        return len(DATETIME_FORMAT)
    longest_line = max(map(len, str(value).splitlines()), default=0)
    return longest_line + (4 if kind is ColumnKind.MONEY else 0)  # room for the " EUR" suffix


def _width(kind: ColumnKind, header: str, sample: Iterable[object]) -> float:
    """A column width from the header and the first rows' values, within [MIN_WIDTH, MAX_WIDTH]."""
    longest = max([len(header), *(_shown_length(kind, value) for value in sample if value is not None)])
    return min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))


class XlsxWriter:
    format = "xlsx"
    extension = "xlsx"
    mime_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, rows_per_sheet: int = MAX_DATA_ROWS_PER_SHEET) -> None:
        if not 1 <= rows_per_sheet <= MAX_DATA_ROWS_PER_SHEET:
            raise ValueError(f"rows_per_sheet must be between 1 and {MAX_DATA_ROWS_PER_SHEET}")
        self.rows_per_sheet = rows_per_sheet

    def write(self, path: Path, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo) -> int:
        workbook = xlsxwriter.Workbook(str(path), {**_WORKBOOK_OPTIONS, "tmpdir": str(path.parent)})
        try:
            count = _Filler(workbook, columns, info, self.rows_per_sheet).fill(iter(rows))
        except BaseException:
            with contextlib.suppress(Exception):  # release XlsxWriter's temp files; the caller discards
                workbook.close()
            raise
        workbook.close()
        return count


class _Filler:
    """One write: the workbook, its formats, and the sheet being filled."""

    def __init__(self, workbook: xlsxwriter.Workbook, columns: Sequence[OutputColumn], info: SheetInfo,
                 rows_per_sheet: int) -> None:
        self.workbook = workbook
        self.columns = columns
        self.title = info.title
        self.rows_per_sheet = rows_per_sheet
        self.bold = workbook.add_format({"bold": True})
        self.formats: dict[ColumnKind, Format | None] = {
            ColumnKind.MONEY: workbook.add_format({"num_format": money_format(info.currency)}),
            ColumnKind.DATETIME: workbook.add_format({"num_format": DATETIME_FORMAT}),
        }
        self.widths: list[float] = []

    def fill(self, rows: Iterator[Sequence[object]]) -> int:
        head = list(islice(rows, WIDTH_SAMPLE_ROWS))
        self.widths = [_width(column.kind, column.header, (row[i] for row in head))
                       for i, column in enumerate(self.columns)]
        limit, sheets, count, sheet_rows = self.rows_per_sheet, 1, 0, 0
        sheet, puts = self._new_sheet(sheet_title(self.title))
        for row in chain(head, rows):
            if sheet_rows == limit:
                self._finish(sheet, sheet_rows)
                sheets += 1
                sheet, puts = self._new_sheet(sheet_title(self.title, f" ({sheets})"))
                sheet_rows = 0
            sheet_rows += 1
            for col, (put, value) in enumerate(zip(puts, row, strict=True)):
                if value is not None and put(sheet_rows, col, value) < 0:
                    raise XlsxLimitError(f"sheet {sheets}, row {sheet_rows + 1}, column "
                                         f"{self.columns[col].id!r}: XlsxWriter refused the value")
            count += 1
        self._finish(sheet, sheet_rows)
        return count

    def _new_sheet(self, name: str) -> tuple[Worksheet, list[Put]]:
        sheet = self.workbook.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        for col, (column, width) in enumerate(zip(self.columns, self.widths, strict=True)):
            sheet.set_column(col, col, width)
            if sheet.write_string(0, col, fit_cell_text(column.header), self.bold) < 0:
                raise XlsxLimitError(f"header of column {column.id!r} refused")
        return sheet, [self._put(sheet, column.kind) for column in self.columns]

    def _put(self, sheet: Worksheet, kind: ColumnKind) -> Put:
        """The cell writer for one column of `sheet`; values are never None (those cells are skipped)."""
        cell_format = self.formats.get(kind)
        if kind is ColumnKind.INTEGER:
            return sheet.write_number  # type: ignore[return-value]
        if kind is ColumnKind.MONEY:
            write_number = sheet.write_number
            return lambda row, col, value: write_number(row, col, float(value), cell_format)  # type: ignore[arg-type]
        if kind is ColumnKind.DATETIME:
            write_datetime = sheet.write_datetime
            return lambda row, col, value: write_datetime(row, col, value, cell_format)
        write_string = sheet.write_string
        # Empty text is an empty cell, as None is.
        return lambda row, col, value: write_string(row, col, fit_cell_text(value)) if value else 0  # type: ignore[arg-type]

    def _finish(self, sheet: Worksheet, sheet_rows: int) -> None:
        sheet.autofilter(0, 0, max(sheet_rows, 1), len(self.columns) - 1)
