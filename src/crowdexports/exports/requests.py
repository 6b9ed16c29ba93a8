"""Validation of an export request: the one place the API, the CLI and the pipeline check one.

Every problem is collected into a single InvalidInput, one entry each, so a client fixes its request
in one round trip.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.exports import changes_since
from crowdexports.exports.options import Options, format_part, stored, type_part
from crowdexports.exports.types import get_type, order_layouts
from crowdexports.exports.types.base import ExportType, OutputColumn, select_columns
from crowdexports.exports.types.orders import ORDERS, OrdersOptions
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import RowWriter
from crowdexports.exports.writers.csv import CsvWriter, parse_csv_options
from crowdexports.rules.exports import EXPORT_REQUEST
from crowdexports.rules.reader import Reader

T = TypeVar("T")


class Validated(NamedTuple):
    export_type: ExportType
    writer: RowWriter
    columns: list[OutputColumn]
    format_options: Options  # the writer's (writer.parse_options)
    type_options: Options  # the export type's (export_type.parse_options)
    # The request's `changes_since`, checked but not resolved (that reads the exports: asking._make).
    changes_since: str | int | None = None

    @property
    def options(self) -> dict[str, Any]:
        """What the export row stores (`exports.options`)."""
        return stored(self.format_options, self.type_options)


def validate_export_request(type_: object, format_: object, columns: object, lang: str,
                            csv_dialect: object = None, *, filters: object = None, layout: object = None,
                            options: Mapping[str, Any] | None = None, zone: str | None = None) -> Validated:
    """Check a request given as values (pipeline, retries); `columns` None means the type's defaults,
    `csv_dialect`, `filters` and `layout` (the API's fields) None the default dialect, every row and the
    stored (or default) layout, `options` an export's stored options, `zone` the project's time zone
    (named by default date headers)."""
    values = {"type": type_, "format": format_, "columns": columns, "csv_dialect": csv_dialect, "filters": filters,
              order_layouts.NAME: layout}
    return _validate(values, lang, [], options, zone)


def validate_export_payload(payload: Mapping[str, object], lang: str) -> Validated:
    """Check a decoded JSON object: its fields only (rules.exports), the required ones present, values as
    above. A required field sent as null is there, and not a string (TypeError)."""
    reader = Reader()
    reader.closed(payload, EXPORT_REQUEST)
    for name in EXPORT_REQUEST.required:
        if name not in payload:
            reader.required([name])
    return _validate(payload, lang, reader.problems, None)


def _validate(values: Mapping[str, object], lang: str, problems: list[FieldProblem],
              options: Mapping[str, Any] | None, zone: str | None = None) -> Validated:
    export_type = _pick(get_type, values, "type", problems)
    writer = _pick(get_writer, values, "format", problems)
    columns: list[OutputColumn] = []
    requested = values.get("columns")
    if requested is not None and not isinstance(requested, Mapping):
        problems.append(FieldProblem(["columns"], "must be an object of column id to header", "TypeError"))
    elif export_type is not None:
        problems += _header_characters(requested)
        try:
            columns = select_columns(export_type.catalogue, requested, lang, zone)
        except InvalidInput as exc:
            problems += exc.problems
    format_raw = _with_csv_dialect(format_part(options), values.get("csv_dialect"), writer, problems)
    format_options = _parse_options(writer, format_raw, "format", problems)
    # The API's `filters` and `layout` are the type's options of those names: their problems are named
    # from the field on.
    given = {name: values[name] for name in ("filters", order_layouts.NAME) if values.get(name) is not None}
    type_raw = {**type_part(options), **given}
    if options is None and export_type is not None and export_type.identifier == ORDERS.identifier:
        # A new request (no stored options) without a layout gets the default; a stored one keeps its own.
        type_raw.setdefault(order_layouts.NAME, order_layouts.DEFAULT.value)
    type_options = _parse_options(export_type, type_raw, "type", problems, tuple(given))
    if isinstance(type_options, OrdersOptions):
        try:
            columns = order_layouts.fit_columns(columns, type_options.layout, chosen=requested is not None)
        except InvalidInput as exc:
            problems += exc.problems
    since = values.get(changes_since.NAME)
    problems += changes_since.check_value(since)
    if since is not None and export_type is not None and export_type.identifier != ORDERS.identifier:
        problems.append(FieldProblem([changes_since.NAME], "only applies to orders exports"))
    if problems or export_type is None or writer is None or format_options is None or type_options is None:
        raise InvalidInput(problems)
    assert since is None or isinstance(since, str | int)  # check_value's
    return Validated(export_type, writer, columns, format_options, type_options, since)


def _with_csv_dialect(raw: Mapping[str, Any], value: object, writer: RowWriter | None,
                      problems: list[FieldProblem]) -> dict[str, Any]:
    """The writer's options with the API's `csv_dialect`, which is the csv writer's `dialect` option (the
    one place the API's field maps to it; csv_dialect_of maps back). Null or absent means the default.
    For another format it must be absent or null: a dialect asked of an xlsx export is a client's
    mistake, not something to ignore."""
    if value is None:
        return dict(raw)
    try:
        parse_csv_options({"dialect": value})
    except InvalidInput as exc:
        problems += [FieldProblem(["csv_dialect"], problem.message, problem.classification) for problem in exc.problems]
        return dict(raw)
    if writer is not None and writer.format != CsvWriter.format:
        problems.append(FieldProblem(["csv_dialect"], "only applies to csv exports"))
        return dict(raw)
    return {**raw, "dialect": value}


class _HasOptions(Protocol):
    def parse_options(self, raw: Any) -> Options: ...


def _parse_options(owner: _HasOptions | None, raw: Mapping[str, Any], part: str,
                   problems: list[FieldProblem], api_fields: tuple[str, ...] = ()) -> Options | None:
    """`owner`'s options; problems under `options.<part>.<name>` (stored options), or as they are for
    an option the request gave as an API field of the same name (`api_fields`)."""
    if owner is None:
        return None
    try:
        return owner.parse_options(raw)
    except InvalidInput as exc:
        problems += [problem if problem.field_names[:1] and problem.field_names[0] in api_fields
                     else FieldProblem(["options", part, *problem.field_names], problem.message,
                                       problem.classification)
                     for problem in exc.problems]
        return None


def csv_dialect_of(format_: str, options: Mapping[str, Any] | None) -> str | None:
    """The API's `csv_dialect` of an export (see _with_csv_dialect): None unless csv. A csv row without
    stored options got the default dialect."""
    if format_ != CsvWriter.format:
        return None
    return parse_csv_options(format_part(options)).dialect.value


def filters_of(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The API's `filters` of an export: its type's stored `filters` option, already in the request's
    form (only the filters set); {} for every row, and for a row stored before filters existed."""
    return dict(type_part(options).get("filters") or {})


def layout_of(options: Mapping[str, Any] | None) -> str:
    """The API's `layout` of an orders export: its type's stored `layout` option; a row stored before
    layouts has what its file has, order_layouts.STORED_BEFORE."""
    return str(type_part(options).get(order_layouts.NAME) or order_layouts.STORED_BEFORE.value)


def changes_since_of(options: Mapping[str, Any] | None) -> int | None:
    """The API's `changes_since` of an export: the id of the export it holds the changes since."""
    return changes_since.shown(type_part(options))


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
