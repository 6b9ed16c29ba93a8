"""The reference xlsx writer: the same sheet rules as `crowdexports.exports.writers.xlsx`, made with the
XlsxWriter library (constant_memory). Tests prove the streaming writer's files equal this one's, read
back by openpyxl, python-calamine and LibreOffice; the benchmark times it as the baseline.

Only the cell calls differ from the production writer: widths, formats, titles, truncation, the limit
past which an integer is text and the sheet split come from the production package, so a difference read
back is a difference in the XML. (tests/files/expect.py re-derives that limit on its own.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain, islice
from pathlib import Path

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from crowdexports.exports.filenames import sheet_title
from crowdexports.exports.options import NoOptions, Options, parse_no_options
from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.base import Output, SheetInfo
from crowdexports.exports.writers.xlsx.cells import DATETIME_FORMAT, EXACT_INTEGER_LIMIT, fit_cell_text, money_format
from crowdexports.exports.writers.xlsx.writer import MAX_DATA_ROWS_PER_SHEET, WIDTH_SAMPLE_ROWS, column_width

Put = Callable[[int, int, object], int]  # (row, col, value) -> XlsxWriter return code
_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False}


class ReferenceXlsxWriter:
    format = "xlsx"
    extension = "xlsx"
    mime_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, rows_per_sheet: int = MAX_DATA_ROWS_PER_SHEET) -> None:
        self.rows_per_sheet = rows_per_sheet

    def parse_options(self, raw: object) -> NoOptions:
        return parse_no_options(raw)

    def write(self, path: Output, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo, options: Options | None = None) -> int:
        if not isinstance(path, Path):
            raise TypeError("the reference writer compares files; it writes to a path only")
        workbook = xlsxwriter.Workbook(str(path), {**_OPTIONS, "tmpdir": str(path.parent)})
        try:
            count = _Filler(workbook, columns, info, self.rows_per_sheet).fill(iter(rows))
        except BaseException:
            with contextlib.suppress(Exception):
                workbook.close()
            raise
        workbook.close()
        return count


class _Filler:
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
        self.widths = [column_width(column.kind, column.header, (row[i] for row in head))
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
                    raise AssertionError(f"XlsxWriter refused row {sheet_rows + 1}, column {col}")
            count += 1
        self._finish(sheet, sheet_rows)
        return count

    def _new_sheet(self, name: str) -> tuple[Worksheet, list[Put]]:
        sheet = self.workbook.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        for col, (column, width) in enumerate(zip(self.columns, self.widths, strict=True)):
            sheet.set_column(col, col, width)
            sheet.write_string(0, col, fit_cell_text(column.header), self.bold)
        return sheet, [self._put(sheet, column.kind) for column in self.columns]

    def _put(self, sheet: Worksheet, kind: ColumnKind) -> Put:
        cell_format = self.formats.get(kind)
        if kind is ColumnKind.INTEGER:
            # XlsxWriter ships no types: its write methods return 0, or a negative error code.
            write_number: Callable[..., int] = sheet.write_number
            write_integer_text: Callable[..., int] = sheet.write_string

            def put_integer(row: int, col: int, value: object) -> int:
                assert isinstance(value, int)
                if -EXACT_INTEGER_LIMIT < value < EXACT_INTEGER_LIMIT:
                    return write_number(row, col, value)
                return write_integer_text(row, col, str(value))  # more digits than Excel keeps
            return put_integer
        if kind is ColumnKind.MONEY:
            write_number = sheet.write_number
            # Put takes any object; a money column's values are Decimals, which float() takes.
            return lambda row, col, value: write_number(row, col, float(value), cell_format)  # type: ignore[arg-type]
        if kind is ColumnKind.DATETIME:
            write_datetime: Callable[..., int] = sheet.write_datetime

            def put_datetime(row: int, col: int, value: object) -> int:
                assert isinstance(value, datetime)
                return write_datetime(row, col, value.replace(microsecond=0), cell_format)  # seconds, as csv
            return put_datetime
        write_string = sheet.write_string

        def put_text(row: int, col: int, value: object) -> int:
            text = fit_cell_text(value) if isinstance(value, str) else ""
            return write_string(row, col, text) if text else 0  # nothing left after cleaning: an empty cell
        return put_text

    def _finish(self, sheet: Worksheet, sheet_rows: int) -> None:
        sheet.autofilter(0, 0, max(sheet_rows, 1), len(self.columns) - 1)
