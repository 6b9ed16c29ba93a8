"""XlsxWriter, the xlsx RowWriter: columns sized from the first rows, then the package written around them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, islice

from crowdexports.exports.options import NoOptions, Options, parse_no_options
from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.base import Output, SheetInfo
from crowdexports.exports.writers.xlsx.cells import DATETIME_FORMAT
from crowdexports.exports.writers.xlsx.package import MAX_SHEET_XML_BYTES, write_package

MAX_DATA_ROWS_PER_SHEET = 1_048_575  # Excel's 1,048,576 rows, less the header row
WIDTH_SAMPLE_ROWS = 100  # rows read ahead to size the columns
MIN_WIDTH, MAX_WIDTH = 8, 50


class XlsxWriter:
    format = "xlsx"
    extension = "xlsx"
    mime_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, rows_per_sheet: int = MAX_DATA_ROWS_PER_SHEET,
                 max_sheet_bytes: int = MAX_SHEET_XML_BYTES) -> None:
        if not 1 <= rows_per_sheet <= MAX_DATA_ROWS_PER_SHEET:
            raise ValueError(f"rows_per_sheet must be between 1 and {MAX_DATA_ROWS_PER_SHEET}")
        self.rows_per_sheet = rows_per_sheet
        self.max_sheet_bytes = max_sheet_bytes

    def parse_options(self, raw: object) -> NoOptions:
        """xlsx has no options."""
        return parse_no_options(raw)

    def write(self, path: Output, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo, options: Options | None = None) -> int:
        rows = iter(rows)
        head = list(islice(rows, WIDTH_SAMPLE_ROWS))
        return write_package(path, info, columns, column_widths(columns, head), chain(head, rows),
                             self.rows_per_sheet, self.max_sheet_bytes, column_widths)


def column_widths(columns: Sequence[OutputColumn], sample: Iterable[Sequence[object]]) -> list[float]:
    """Each column's width from its header and the sample rows' values."""
    sample = list(sample)
    return [column_width(column.kind, column.header, (row[i] for row in sample)) for i, column in enumerate(columns)]


def column_width(kind: ColumnKind, header: str, sample: Iterable[object]) -> float:
    """A column width from the header and the first rows' values, within [MIN_WIDTH, MAX_WIDTH]."""
    longest = max([len(header), *(_shown_length(kind, value) for value in sample if value is not None)])
    return min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))


def _shown_length(kind: ColumnKind, value: object) -> int:
    if kind is ColumnKind.DATETIME:
        return len(DATETIME_FORMAT)
    longest_line = max(map(len, str(value).splitlines()), default=0)
    return longest_line + (4 if kind is ColumnKind.MONEY else 0)  # room for the " EUR" suffix
