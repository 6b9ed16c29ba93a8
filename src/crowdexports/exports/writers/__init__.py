"""The registry of file formats. A new format is one module (or package, as xlsx) beside this file plus one
line below."""

from __future__ import annotations

from crowdexports.errors import invalid
from crowdexports.exports.writers.base import RowWriter
from crowdexports.exports.writers.csv import CsvWriter
from crowdexports.exports.writers.xlsx.writer import XlsxWriter

WRITERS: dict[str, RowWriter] = {writer.format: writer for writer in (CsvWriter(), XlsxWriter())}


def get_writer(format_: str) -> RowWriter:
    """The writer for `format_` ("csv", "xlsx"); InvalidInput (ValueError on `format`) for any other."""
    try:
        return WRITERS[format_]
    except KeyError:
        raise invalid("format", f"must be one of: {', '.join(WRITERS)}") from None
