"""What a file format is: something that turns typed rows into a file. Export types never branch on it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from crowdexports.exports.types.base import OutputColumn


@dataclass(frozen=True)
class SheetInfo:
    """Presentation facts a writer may use: the currency for money formats, a title for the sheet."""

    currency: str
    title: str


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
