"""Validation of an export request: the one place the API, the CLI and the pipeline check one.

Every problem is collected into a single InvalidInput, one entry each, so a client fixes its request
in one round trip.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeVar

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import ExportType, OutputColumn, select_columns
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import CsvDialect, RowWriter
from crowdexports.exports.writers.csv import CsvWriter

FIELDS = ("type", "format", "columns", "csv_dialect")
REQUIRED = ("type", "format")
# The export resource's other fields: the service sets them, a request may not (PermissionError).
READ_ONLY = ("id", "project_id", "status", "created_at", "url", "user", "row_count", "size", "started_at",
             "finished_at", "expires_at", "error", "progress", "email_status")
T = TypeVar("T")


class Validated(NamedTuple):
    export_type: ExportType
    writer: RowWriter
    columns: list[OutputColumn]
    csv_dialect: CsvDialect | None  # the one to use for csv (the default when none was given); None otherwise


def validate_export_request(type_: object, format_: object, columns: object, lang: str,
                            csv_dialect: object = None) -> Validated:
    """Check a request given as values (CLI, pipeline); `columns` None means the type's defaults,
    `csv_dialect` None the default dialect."""
    return _validate({"type": type_, "format": format_, "columns": columns, "csv_dialect": csv_dialect}, lang, [])


def validate_export_payload(payload: Mapping[str, object], lang: str) -> Validated:
    """Check a decoded JSON object: known fields only, the required ones present, values as above."""
    problems = [FieldProblem([key], "is read-only: the service sets it", "PermissionError") if key in READ_ONLY
                else FieldProblem([key], "unknown field", "UnknownFieldError")
                for key in payload if key not in FIELDS]
    problems += [FieldProblem([key], "this field is required", "RequiredError")
                 for key in REQUIRED if key not in payload]
    return _validate(payload, lang, problems)


def _validate(values: Mapping[str, object], lang: str, problems: list[FieldProblem]) -> Validated:
    export_type = _pick(get_type, values, "type", problems)
    writer = _pick(get_writer, values, "format", problems)
    columns: list[OutputColumn] = []
    requested = values.get("columns")
    if requested is not None and not isinstance(requested, Mapping):
        problems.append(FieldProblem(["columns"], "must be an object of column id to header", "TypeError"))
    elif export_type is not None:
        problems += _header_characters(requested)
        try:
            columns = select_columns(export_type.catalogue, requested, lang)
        except InvalidInput as exc:
            problems += exc.problems
    csv_dialect = _csv_dialect(values.get("csv_dialect"), writer, problems)
    if problems or export_type is None or writer is None:
        raise InvalidInput(problems)
    return Validated(export_type, writer, columns, csv_dialect)


def _csv_dialect(value: object, writer: RowWriter | None, problems: list[FieldProblem]) -> CsvDialect | None:
    """The dialect of a csv export: null or absent means the default. For another format it must be
    absent or null: a dialect asked of an xlsx export is a client's mistake, not something to ignore."""
    is_csv = writer is not None and writer.format == CsvWriter.format
    if value is None:
        return CsvDialect.RFC4180 if is_csv else None
    if not isinstance(value, str):
        problems.append(FieldProblem(["csv_dialect"], "must be a string", "TypeError"))
    elif value not in set(CsvDialect):
        problems.append(FieldProblem(["csv_dialect"], f"must be one of: {', '.join(CsvDialect)}"))
    elif writer is not None and not is_csv:
        problems.append(FieldProblem(["csv_dialect"], "only applies to csv exports"))
    else:
        return CsvDialect(value)
    return None


def _pick(lookup: Callable[[str], T], values: Mapping[str, object], name: str,
          problems: list[FieldProblem]) -> T | None:
    """Look a string value up in a registry, recording a TypeError or the registry's own problem."""
    if name not in values:
        return None
    value = values[name]
    if not isinstance(value, str):
        problems.append(FieldProblem([name], "must be a string", "TypeError"))
        return None
    try:
        return lookup(value)
    except InvalidInput as exc:
        problems += exc.problems
        return None


def _header_characters(requested: Mapping[str, object] | None) -> list[FieldProblem]:
    """Headers end up in files and emails: control characters (NUL, newlines) and lone surrogates,
    which cannot even be encoded as UTF-8, are refused. Any other Unicode text is fine."""
    return [
        FieldProblem(["columns", key], "header must not contain control characters")
        for key, header in (requested or {}).items()
        if isinstance(header, str) and any(unicodedata.category(ch) in ("Cc", "Cs") for ch in header)
    ]
