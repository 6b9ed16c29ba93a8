"""What an export type is: a column catalogue plus a streamed row generator. Formats never appear here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.exports.options import NO_OPTIONS, Options
from crowdexports.exports.summary import Totals

MAX_HEADER_LENGTH = 255


class ColumnKind(StrEnum):
    """How a writer must type a cell. Row values per kind:
    INTEGER int | None; TEXT str | None; IDENTIFIER str | None (digits that must stay text: postal
    codes, phone numbers); MONEY decimal.Decimal | None, already exact in the currency's decimals;
    DATETIME naive datetime in the project's timezone | None.
    """

    INTEGER = "integer"
    TEXT = "text"
    IDENTIFIER = "identifier"
    MONEY = "money"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    id: str
    kind: ColumnKind
    headers: Mapping[str, str]  # language -> header; "en" is required and is the fallback

    def header(self, lang: str, zone: str | None = None) -> str:
        """The default header in `lang`. A date column's names the time zone its cells are in (the
        project's, `zone`), "Order date (Europe/Paris)": the cells themselves cannot say it."""
        text = self.headers.get(lang) or self.headers["en"]
        return f"{text} ({zone})" if zone and self.kind is ColumnKind.DATETIME else text


@dataclass(frozen=True)
class OutputColumn:
    """A column as it will be written: chosen by the request, with its final header text."""

    id: str
    kind: ColumnKind
    header: str


@dataclass(frozen=True)
class ExportContext:
    """Everything a row generator needs besides the database session."""

    project_id: int
    lang: str  # the recipient's language
    project_lang: str
    currency: str
    timezone: ZoneInfo
    columns: Sequence[OutputColumn]
    options: Options = NO_OPTIONS  # what the type's parse_options returned
    # The last order change number the export includes (sync.changes), read before its rows; None: no bound.
    changes_upto: int | None = None


class ExportType(Protocol):
    """One module per type (see `types/__init__.py`, the registry)."""

    identifier: str
    catalogue: Sequence[Column]

    def parse_options(self, raw: Any) -> Options:
        """This type's options (see exports.options; `{}`: all defaults); InvalidInput otherwise."""
        ...

    def estimate_rows(self, session: Session, context: ExportContext) -> int:
        """A cheap estimate of the number of rows, for progress; need not be exact."""
        ...

    def rows(self, session: Session, context: ExportContext,
             totals: Totals | None = None) -> Iterator[tuple[object, ...]]:
        """Stream rows (one value per `context.columns`, typed per ColumnKind) without loading them all;
        `totals` (exports.summary) counts each row as it is read."""
        ...


def select_columns(catalogue: Sequence[Column], requested: Mapping[str, object] | None,
                   lang: str, zone: str | None = None) -> list[OutputColumn]:
    """The columns to write: the whole catalogue with headers in `lang` (date headers naming `zone`, the
    project's time zone), or exactly those requested, their headers as the request wrote them.

    Raises InvalidInput (ValueError on `columns.<id>`) for an unknown id, an empty, non-text or
    over-long header, or an empty object.
    """
    if requested is None:
        return [OutputColumn(c.id, c.kind, c.header(lang, zone)) for c in catalogue]
    by_id = {c.id: c for c in catalogue}
    problems: list[FieldProblem] = []
    if not requested:
        problems.append(FieldProblem(["columns"], "must name at least one column"))
    chosen: list[OutputColumn] = []
    for column_id, header in requested.items():
        column = by_id.get(column_id)
        if column is None:
            problems.append(FieldProblem(["columns", column_id], "unknown column"))
        elif not isinstance(header, str):
            problems.append(FieldProblem(["columns", column_id], "header must be a string", "TypeError"))
        elif not header.strip():
            problems.append(FieldProblem(["columns", column_id], "header must not be empty"))
        elif len(header) > MAX_HEADER_LENGTH:
            problems.append(FieldProblem(["columns", column_id],
                                         f"header must be at most {MAX_HEADER_LENGTH} characters"))
        else:
            chosen.append(OutputColumn(column.id, column.kind, header))
    if problems:
        raise InvalidInput(problems)
    return chosen
