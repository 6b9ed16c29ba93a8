"""The xlsx package, a zip: its parts in their order, the sheets split at the limits, deflated in a thread.

Entry order matters to one kind of reader: file-type sniffers (libmagic's `file`, mail scanners)
recognise an xlsx by a first entry `_rels/.rels` and a third under `xl/`. So the fixed parts come
first, then the sheets, then the parts that list the sheets (their count is only known at the end).
Rows are rendered in batches; deflate runs in a second thread (zlib releases the GIL) while the next
batch is rendered.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from typing import IO

from crowdexports.exports.filenames import sheet_title
from crowdexports.exports.types.base import OutputColumn
from crowdexports.exports.writers.base import Output, SheetInfo, SummarySheet
from crowdexports.exports.writers.xlsx import templates
from crowdexports.exports.writers.xlsx.cells import column_letters
from crowdexports.exports.writers.xlsx.renderer import RowRenderer

# Column widths for a sheet's columns from its rows (writer.column_widths).
WidthsOf = Callable[[Sequence[OutputColumn], Iterable[Sequence[object]]], list[float]]

MAX_SHEET_XML_BYTES = 2**32 - 1  # a zip entry past this needs Zip64, which not every reader takes
BATCH_ROWS = 500  # rows rendered, then deflated, together
COMPRESS_LEVEL = 1  # zlib: level 1 is ~4x faster than the default 6, for a file ~15% larger


def write_package(path: Output, info: SheetInfo, columns: Sequence[OutputColumn], widths: Sequence[float],
                  rows: Iterator[Sequence[object]], rows_per_sheet: int, max_sheet_bytes: int,
                  widths_of: WidthsOf) -> int:
    """The whole xlsx file at `path`: every row, on as many sheets as the limits require, then the summary
    sheet if `info` has one (its columns sized by `widths_of`); the row count."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-deflate") as deflater:
        package = _Package(archive, deflater, info)
        count = package.write_sheets(columns, widths, rows, rows_per_sheet, max_sheet_bytes)
        if info.summary is not None:
            package.write_summary(info.summary, widths_of)
        package.finish()
    return count


class _Package:
    """The zip being written: fixed parts first, then the sheets, then the parts that list the sheets."""

    def __init__(self, archive: zipfile.ZipFile, deflater: ThreadPoolExecutor, info: SheetInfo) -> None:
        self.archive = archive
        self.deflater = deflater
        self.title = info.title
        self.sheets: list[tuple[str, str]] = []  # (name, autofilter range)
        archive.writestr("_rels/.rels", templates.ROOT_RELS)
        archive.writestr("docProps/core.xml", templates.core(datetime.now(UTC)))
        archive.writestr("xl/styles.xml", templates.styles(info.currency))

    def write_sheets(self, columns: Sequence[OutputColumn], widths: Sequence[float],
                     rows: Iterator[Sequence[object]], rows_per_sheet: int, max_sheet_bytes: int) -> int:
        """Every row, on as many sheets as the limits require (the first even without rows); the row count."""
        render = RowRenderer(columns).render
        head = templates.sheet_head(columns, widths)
        last_column = column_letters(len(columns) - 1)
        count, batch = 0, list(islice(rows, BATCH_ROWS))
        while True:
            number = len(self.sheets) + 1
            sheet_rows = 0
            with self.archive.open(f"xl/worksheets/sheet{number}.xml", "w") as entry:
                try:
                    size = self._write(entry, head.format(selected=int(number == 1)).encode())
                    while batch and sheet_rows < rows_per_sheet:
                        taken = batch[:rows_per_sheet - sheet_rows]
                        data = render(taken, sheet_rows + 2).encode()
                        if sheet_rows and size + len(data) + templates.TAIL_ROOM > max_sheet_bytes:
                            break  # these rows start the next sheet, rendered again with its row numbers
                        size += self._write(entry, data)
                        sheet_rows += len(taken)
                        batch = batch[len(taken):] or list(islice(rows, BATCH_ROWS))
                    last_row = max(sheet_rows, 1) + 1
                    self._write(entry, templates.sheet_tail(f"A1:{last_column}{last_row}").encode())
                finally:
                    self._drain()  # the deflate thread must be done with `entry` before it closes
            count += sheet_rows
            self.sheets.append((sheet_title(self.title, f" ({number})" if number > 1 else ""),
                                f"$A$1:${last_column}${last_row}"))
            if not batch:
                return count

    def write_summary(self, summary: SummarySheet, widths_of: WidthsOf) -> None:
        """The summary sheet after the data sheets; its name made unique among theirs (a project may be
        called "Summary"), as Excel refuses two sheets of one name whatever their case."""
        taken = {name.casefold() for name, _ in self.sheets}
        name, number = summary.name, 1
        while name.casefold() in taken:
            number += 1
            name = sheet_title(summary.name, f" ({number})")
        rows = summary.rows()
        widths = widths_of(summary.columns, rows)
        last_column, last_row = column_letters(len(summary.columns) - 1), len(rows) + 1
        number = len(self.sheets) + 1
        with self.archive.open(f"xl/worksheets/sheet{number}.xml", "w") as entry:
            entry.write(templates.sheet_head(summary.columns, widths).format(selected=0).encode())
            entry.write(RowRenderer(summary.columns).render(rows, 2).encode())
            entry.write(templates.sheet_tail(f"A1:{last_column}{last_row}").encode())
        self.sheets.append((name, f"$A$1:${last_column}${last_row}"))

    def finish(self) -> None:
        """The parts that list the sheets, now that they are all written."""
        self.archive.writestr("xl/workbook.xml", templates.workbook(self.sheets))
        self.archive.writestr("xl/_rels/workbook.xml.rels", templates.workbook_rels(len(self.sheets)))
        self.archive.writestr("docProps/app.xml", templates.app([name for name, _ in self.sheets]))
        self.archive.writestr("[Content_Types].xml", templates.content_types(len(self.sheets)))

    _pending: Future[int] | None = None

    def _write(self, entry: IO[bytes], data: bytes) -> int:
        """Hands `data` to the deflate thread, after the previous chunk is done (at most two in memory)."""
        self._drain()
        self._pending = self.deflater.submit(entry.write, data)
        return len(data)

    def _drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises a failed write here, in the exporting thread
