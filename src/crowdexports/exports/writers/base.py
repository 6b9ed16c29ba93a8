"""What a file format is: something that turns typed rows into a file. Export types never branch on it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from crowdexports.exports.types.base import OutputColumn


class CsvDialect(StrEnum):
    """The csv flavours an export may ask for (`csv_dialect`). The one list: request validation, the API
    docs and the csv writer (which maps each to its separator and money text) all read it from here."""

    RFC4180 = "rfc4180"  # comma, decimal point: Excel in English locales, and every other program
    EXCEL_EU = "excel_eu"  # semicolon, decimal comma: what Excel expects in French, German, ... locales


@dataclass(frozen=True)
class SheetInfo:
    """Presentation facts a writer may use: the currency for money formats, a title for the sheet, the
    csv dialect (other formats ignore it)."""

    currency: str
    title: str
    csv_dialect: CsvDialect = CsvDialect.RFC4180


class RowWriter(Protocol):
    format: str  # "csv", "xlsx": the value of the export's `format`
    extension: str  # file name extension without the dot
    mime_type: str

    def write(self, path: Path, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo) -> int:
        """Write the header and every row to `path` (a fresh temporary file); return the data row count.

        Must stream: constant memory whatever the number of rows. Exceptions from `rows` (for
        example ExportStopped on cancel) propagate; the caller discards the file.
        """
        ...
