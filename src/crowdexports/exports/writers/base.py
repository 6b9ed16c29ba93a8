"""What a file format is: something that turns typed rows into a file. Export types never branch on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from crowdexports.exports.options import Options
from crowdexports.exports.types.base import OutputColumn


@dataclass(frozen=True)
class SummarySheet:
    """A small table a writer with sheets writes after the data (xlsx; csv has no room for it): the export's
    control totals (exports.summary_sheet). `rows` is called once the data rows are exhausted, when the
    totals are known; its values are typed per `columns`' kinds, as data rows are."""

    name: str
    columns: Sequence[OutputColumn]
    rows: Callable[[], Sequence[Sequence[object]]]


@dataclass(frozen=True)
class SheetInfo:
    """Presentation facts any writer may use: the currency for money formats, a title for the sheet, the
    summary sheet to add after the data (None: none). What only one format has (the csv dialect) is that
    writer's Options, not here."""

    currency: str
    title: str
    summary: SummarySheet | None = None


Output = Path | BinaryIO  # a fresh file to create, or a binary stream to append to (the pipeline's HashingStream)


class RowWriter(Protocol):
    format: str  # "csv", "xlsx": the value of the export's `format`
    extension: str  # file name extension without the dot
    mime_type: str

    def parse_options(self, raw: Any) -> Options:
        """This writer's options from their stored or requested form (`{}`: all defaults); InvalidInput
        with one problem per option (field names: the option's name) otherwise. See exports.options."""
        ...

    def write(self, path: Output, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo, options: Options | None = None) -> int:
        """Write the header and every row to `path` (a fresh temporary file, or a stream that must only be
        appended to: it is not seekable); return the data row count.

        Must stream: constant memory whatever the number of rows. Exceptions from `rows` (for
        example ExportStopped on cancel) propagate; the caller discards the file. `options`: what
        parse_options returned (None: the defaults).
        """
        ...
