"""The control totals (issue 16, point 2) against the file they describe: the xlsx "Summary" sheet read back by
openpyxl, python-calamine and LibreOffice equals the sums of the data sheet read by the same reader, and the
totals the resource shows equal the sums of the csv read by the csv module.

The data sheet's sums are computed whatever its layout (an order's amounts on each of its rows, on its
first row only, or one row per order): distinct order ids, the order total taken once per order id (its
first non-empty one), item rows counted by a non-empty reward id, grouped by the status code column. On the
torture projects (tests/files/torture.py): 0, 2 and 3 decimals, orders without items, every status.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from crowdexports.exports.summary import Summary, Totals
from crowdexports.exports.summary_sheet import SHEET_NAME, summary_sheet
from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import ColumnKind, ExportContext, OutputColumn, select_columns
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import SheetInfo, SummarySheet
from crowdexports.exports.writers.digest import write_hashed
from crowdexports.models import Project
from tests.conftest import Stack
from tests.files.conftest import module_session
from tests.files.expect import csv_text, read_calamine, read_csv, read_libreoffice, read_openpyxl
from tests.files.torture import PROJECTS, build_torture

LANGS = {"EUR": "fr"}  # the recipient's language: headers and the "all statuses" label
ALL = {"en": "All", "fr": "Toutes"}
# Sums per (currency, status or ALL): (orders, items, total).
Sums = dict[tuple[str, str], tuple[int, int, Decimal]]


@dataclass
class Written:
    project: Project
    lang: str
    columns: list[OutputColumn]
    summary: Summary  # what the resource shows
    csv: Path
    xlsx: Path


def _write(session: Session, project: Project, lang: str, out: Path) -> Written:
    """Both files as the pipeline writes them: totals counted from the streamed rows, the sheet after them."""
    export_type = get_type("orders")
    columns = select_columns(export_type.catalogue, None, lang)
    context = ExportContext(project.id, lang, project.lang, project.currency, ZoneInfo(project.timezone), columns)
    summaries = []
    paths = {}
    for fmt in ("csv", "xlsx"):
        totals = Totals(project.currency)
        info = SheetInfo(project.currency, project.name, summary_sheet(totals, lang))
        paths[fmt] = out / f"{project.currency}.{fmt}"
        write_hashed(get_writer(fmt), paths[fmt], columns, export_type.rows(session, context, totals), info)
        summaries.append(totals.summary())
    assert summaries[0] == summaries[1]
    return Written(project, lang, columns, summaries[0], paths["csv"], paths["xlsx"])


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> Iterator[dict[str, Written]]:
    out = tmp_path_factory.mktemp("summary")
    with module_session(stack, out / "db") as session:
        projects = build_torture(session)
        yield {spec.key: _write(session, project, LANGS.get(spec.key, "en"), out)
               for spec, project in zip(PROJECTS, projects, strict=True)}


def _amount(value: Any) -> Decimal:
    """A money cell as any reader gives it (a float, a Decimal, the csv's text) as an exact Decimal."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def data_sums(columns: Sequence[OutputColumn], rows: Sequence[Sequence[Any]], currency: str, lang: str) -> Sums:
    """The data rows' sums, whatever the layout: see the module's docstring."""
    at = {column.id: index for index, column in enumerate(columns)}
    order_at, status_at, total_at, item_at = (at[name] for name in ("order.id", "order.status_code", "order.total",
                                                                   "order.reward.id"))
    status_of: dict[Any, str] = {}
    total_of: dict[Any, Decimal] = {}
    items: dict[str, int] = {}
    for row in rows:
        order_id = row[order_at]
        status_of.setdefault(order_id, row[status_at])
        if row[total_at] not in (None, "") and order_id not in total_of:
            total_of[order_id] = _amount(row[total_at])
        if row[item_at] not in (None, ""):
            items[status_of[order_id]] = items.get(status_of[order_id], 0) + 1
    sums: Sums = {}
    for status in set(status_of.values()):
        orders = [order_id for order_id, its in status_of.items() if its == status]
        sums[(currency, status)] = (len(orders), items.get(status, 0), sum((total_of[o] for o in orders), Decimal(0)))
    sums[(currency, ALL[lang])] = (len(status_of), sum(items.values()),
                                   sum(total_of.values(), Decimal(0)))
    return sums


def summary_sums(summary: Summary, lang: str, *, as_csv: bool = False) -> Sums:
    """The resource's `summary` as Sums; `as_csv`: statuses as the csv writes them (formula triggers quoted)."""
    sums: Sums = {}
    for figures in summary:
        currency = figures["currency"]
        sums[(currency, ALL[lang])] = (figures["orders"], figures["items"], Decimal(figures["total"]))
        for status in figures["by_status"]:
            shown = csv_text(status["status"]) if as_csv else status["status"]
            sums[(currency, shown)] = (status["orders"], status["items"], Decimal(status["total"]))
    return sums


def sheet_sums(rows: Sequence[Sequence[Any]]) -> Sums:
    """The Summary sheet's rows (after its header) as Sums, checking the cells' types on the way."""
    sums: Sums = {}
    for currency, status, orders, items, total in rows:
        assert isinstance(orders, int | float) and isinstance(items, int | float), (orders, items)
        assert isinstance(total, int | float | Decimal), f"the total {total!r} is not a number"
        sums[(currency, status)] = (int(orders), int(items), _amount(total))
    return sums


def _read(reader: str, written: Written, books: dict[Path, Any] | None = None) -> dict[str, list[list[Any]]]:
    """Each sheet's rows of cell values as `reader` reads them."""
    if reader == "openpyxl":
        sheets = read_openpyxl(written.xlsx)
        return {name: [[cell.value for cell in row] for row in rows] for name, rows in sheets.items()}
    if reader == "calamine":
        return read_calamine(written.xlsx)
    assert books is not None
    return {name: [[cell.value for cell in row] for row in rows] for name, rows in books[written.xlsx].saved.items()}


def _check_book(sheets: dict[str, list[list[Any]]], written: Written) -> None:
    assert list(sheets)[-1] == SHEET_NAME, list(sheets)
    data = [row for name, rows in sheets.items() if name != SHEET_NAME for row in rows[1:]]
    header, *summary = sheets[SHEET_NAME]
    assert header == {"en": ["Currency", "Status", "Orders", "Items", "Total"],
                      "fr": ["Devise", "Statut", "Commandes", "Articles", "Total"]}[written.lang]
    expected = data_sums(written.columns, data, written.project.currency, written.lang)
    assert sheet_sums(summary) == expected
    assert summary[0][1] == ALL[written.lang], "the row of all statuses comes first"
    assert [row[1] for row in summary[1:]] == sorted(row[1] for row in summary[1:])


@pytest.mark.parametrize("key", [spec.key for spec in PROJECTS])
def test_the_csv_sums_are_the_summary(written: dict[str, Written], key: str) -> None:
    case = written[key]
    header, *rows = read_csv(case.csv)
    assert header == [column.header for column in case.columns]
    expected = data_sums(case.columns, rows, case.project.currency, case.lang)
    assert summary_sums(case.summary, case.lang, as_csv=True) == expected
    statuses = {status for _, status in expected} - {ALL[case.lang]}
    assert len(statuses) > 1 and expected[(case.project.currency, ALL[case.lang])][0] > 0


@pytest.mark.parametrize("reader", ["openpyxl", "calamine"])
@pytest.mark.parametrize("key", [spec.key for spec in PROJECTS])
def test_the_summary_sheet_is_the_data_sheet_sums(written: dict[str, Written], key: str, reader: str) -> None:
    _check_book(_read(reader, written[key]), written[key])


@pytest.mark.slow
def test_libreoffice_reads_the_summary_sheet_as_the_data_sheet_sums(written: dict[str, Written]) -> None:
    books = read_libreoffice([case.xlsx for case in written.values()])
    for case in written.values():
        _check_book(_read("libreoffice", case, books), case)
        shown = books[case.xlsx].shown[SHEET_NAME]
        assert shown[1][-1].endswith(f" {case.project.currency}"), "the total has the currency's number format"


def test_the_money_cells_have_the_currency_format(written: dict[str, Written]) -> None:
    for case in written.values():
        sheet = load_workbook(case.xlsx)[SHEET_NAME]
        decimals = {"EUR": ".00", "JPY": "", "KWD": ".000"}[case.project.currency]
        assert {row[4].number_format for row in sheet.iter_rows(min_row=2)} == {
            f'#,##0{decimals} "{case.project.currency}"'}


def _small_files(tmp_path: Path, title: str) -> tuple[Path, Path, Path]:
    """A two-row file through each writer, with and (csv) without a summary sheet."""
    columns = [OutputColumn("order.id", ColumnKind.INTEGER, "Order"),
               OutputColumn("order.total", ColumnKind.MONEY, "Paid")]
    rows = [(1, Decimal("10.00")), (2, Decimal("2.50"))]
    sheet = SummarySheet(SHEET_NAME, columns[:1], lambda: [(2,)])
    paths = tmp_path / "with.csv", tmp_path / "without.csv", tmp_path / "with.xlsx"
    for path, info in zip(paths, (SheetInfo("EUR", title, sheet), SheetInfo("EUR", title),
                                  SheetInfo("EUR", title, sheet)), strict=True):
        write_hashed(get_writer(path.suffix[1:]), path, columns, iter(rows), info)
    return paths


def test_a_csv_has_no_room_for_the_summary_and_ignores_it(tmp_path: Path) -> None:
    with_summary, without, _ = _small_files(tmp_path, "Kettle")
    assert with_summary.read_bytes() == without.read_bytes()


def test_a_project_called_summary_keeps_both_sheets(tmp_path: Path) -> None:
    *_, xlsx = _small_files(tmp_path, "SUMMARY")
    book = load_workbook(xlsx)
    assert book.sheetnames == ["SUMMARY", "Summary (2)"]
    assert [[cell.value for cell in row] for row in book["Summary (2)"].iter_rows()] == [["Order"], [2]]
    assert list(read_calamine(xlsx)) == book.sheetnames
