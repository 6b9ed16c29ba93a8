"""Issue 16: a bookkeeper sums a money column, and the number must be right.

For every row layout, csv dialect and currency (0, 2 and 3 decimals), the files are made by the worker's
own path (`pipeline.build_file`), read back by the csv module, openpyxl, python-calamine and LibreOffice,
and each money column's sum is compared with the database's, computed in SQL: SUM(orders.total) and the
like over the project's orders, SUM(order_items.line_total) for the reward totals. `items_repeated`
documents its over-count: its order columns sum to the SQL sum over item rows, more than the real one.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from crowdexports.exports import pipeline
from crowdexports.exports.requests import validate_export_request
from crowdexports.models import Export, Order, OrderItem, Project, User, utcnow
from crowdexports.seed import seed_orders
from tests.conftest import Stack
from tests.factories import make_project, make_user
from tests.files.conftest import module_session
from tests.files.expect import read_calamine, read_libreoffice, read_openpyxl

ORDERS_PER_PROJECT = 120
CURRENCIES = {"JPY": 0, "EUR": 2, "KWD": 3}  # the currency's decimals, written here again
LAYOUTS = ("items", "orders", "items_repeated")
DIALECTS = {"rfc4180": (",", "."), "excel_eu": (";", ",")}  # separator, decimal mark
ORDER_AMOUNTS = {"order.total": Order.total, "order.subtotal": Order.subtotal,
                 "order.shipping_total": Order.shipping_total}
ITEM_AMOUNTS = {"order.reward.total": OrderItem.line_total, "order.reward.price": OrderItem.unit_price}


@dataclass
class Projects:
    session: Session
    owner: User
    by_currency: dict[str, Project]


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> Iterator[Projects]:
    with module_session(stack, tmp_path_factory.mktemp("sums")) as session:
        owner = make_user(session, "bookkeeper")
        made = {}
        for number, currency in enumerate(CURRENCIES, 1):
            project = make_project(session, owner, f"Sums {currency}", currency=currency)
            assert seed_orders(session, project.id, ORDERS_PER_PROJECT, seed=number) == ORDERS_PER_PROJECT
            made[currency] = project
        yield Projects(session, owner, made)


def _scalar(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(query) or 0)


def database_sums(session: Session, project: Project, layout: str) -> dict[str, Decimal]:
    """Each money column's right sum, by SQL, in major units. In `items_repeated` the order amounts are
    summed over the item rows (an order without items once): what that layout's columns add up to."""
    shift = Decimal(10) ** -CURRENCIES[project.currency]
    sums = {}
    for column_id, amount in ORDER_AMOUNTS.items():
        query = select(func.sum(amount)).where(Order.project_id == project.id)
        if layout == "items_repeated":
            query = query.outerjoin(OrderItem, OrderItem.order_id == Order.id)
        sums[column_id] = _scalar(session, query) * shift
    for column_id, amount in ITEM_AMOUNTS.items():
        if column_id == "order.reward.price" and layout == "orders":
            continue  # refused in that layout: no single value per order
        sums[column_id] = _scalar(session, select(func.sum(amount)).join(Order, Order.id == OrderItem.order_id)
                                  .where(Order.project_id == project.id)) * shift
    return sums


@dataclass
class Made:
    path: Path
    headers: dict[str, str]  # money column id -> header
    rows: int


def build(projects: Projects, currency: str, layout: str, out: Path, *, format_: str = "csv",
          dialect: str | None = None) -> Made:
    """The file as the worker makes it, for a request of the default columns in `layout`."""
    session, project = projects.session, projects.by_currency[currency]
    valid = validate_export_request("orders", format_, None, projects.owner.lang, dialect, layout=layout)
    export = Export(id=0, project_id=project.id, user_id=projects.owner.id, type="orders", format=format_,
                    columns=None, options=valid.options, created_at=utcnow())
    built = pipeline.build_file(session, export, project, projects.owner, out, pipeline.Progress())
    path = out / f"{currency}-{layout}-{dialect or format_}.{format_}"
    built.path.rename(path)
    money = {*ORDER_AMOUNTS, *ITEM_AMOUNTS}
    return Made(path, {column.id: column.header for column in valid.columns if column.id in money}, built.row_count)


def column_sums(rows: list[list[Any]], headers: dict[str, str], to_decimal: Any) -> dict[str, Decimal]:
    """Each money column's sum as a spreadsheet's SUM() would add it: empty cells count nothing."""
    head = rows[0]
    sums = {}
    for column_id, header in headers.items():
        index = head.index(header)
        sums[column_id] = sum((to_decimal(row[index]) for row in rows[1:] if row[index] not in ("", None)),
                              Decimal(0))
    return sums


def check_sums(read: dict[str, Decimal], expected: dict[str, Decimal], where: str) -> None:
    assert set(read) == set(expected), f"{where}: money columns {sorted(read)}, expected {sorted(expected)}"
    for column_id, amount in expected.items():
        assert read[column_id] == amount, f"{where}: {column_id} sums to {read[column_id]}, the database to {amount}"


def test_the_seeded_data_has_orders_of_several_items_and_orders_without(projects: Projects) -> None:
    """What makes the sums a proof: without both, every layout would sum right."""
    for project in projects.by_currency.values():
        per_order = (select(func.count(OrderItem.id)).select_from(Order)
                     .outerjoin(OrderItem, OrderItem.order_id == Order.id)
                     .where(Order.project_id == project.id).group_by(Order.id))
        counts = list(projects.session.scalars(per_order))
        assert 0 in counts and any(count > 1 for count in counts), project.currency


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_csv_money_columns_sum_to_the_databases_sums(projects: Projects, tmp_path: Path, currency: str,
                                                     layout: str) -> None:
    expected = database_sums(projects.session, projects.by_currency[currency], layout)
    if layout == "items_repeated":  # the over-count that layout is documented with
        assert expected["order.total"] > database_sums(projects.session, projects.by_currency[currency],
                                                       "items")["order.total"]
    for dialect, (separator, mark) in DIALECTS.items():
        made = build(projects, currency, layout, tmp_path, dialect=dialect)
        with made.path.open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file, delimiter=separator))
        assert len(rows[0]) > len(made.headers) and len(rows) - 1 == made.rows, dialect
        check_sums(column_sums(rows, made.headers, lambda cell, mark=mark: Decimal(cell.replace(mark, "."))),
                   expected, f"csv {dialect} {currency} {layout}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_xlsx_money_columns_sum_to_the_databases_sums(projects: Projects, tmp_path: Path, currency: str,
                                                      layout: str) -> None:
    expected = database_sums(projects.session, projects.by_currency[currency], layout)
    made = build(projects, currency, layout, tmp_path, format_="xlsx")
    where = f"{currency} {layout}"
    sheets = read_openpyxl(made.path)
    assert list(sheets)[1:] == ["Summary"]  # the data, then the control totals (test_summary_sheet.py)
    rows = next(iter(sheets.values()))
    money = [index for index, cell in enumerate(rows[0]) if cell.value in made.headers.values()]
    assert all(row[index].data_type == "n" for row in rows[1:] for index in money if row[index].value is not None)
    values = [[cell.value for cell in row] for row in rows]
    check_sums(column_sums(values, made.headers, _number), expected, f"openpyxl {where}")
    check_sums(column_sums(next(iter(read_calamine(made.path).values())), made.headers, _number), expected,
               f"calamine {where}")


def _number(value: float | int) -> Decimal:
    """A number cell's value as the decimal it was written as (a double's shortest repr, exact here)."""
    return Decimal(repr(value))


def _shown_amount(text: str, currency: str) -> Decimal:
    """A money cell as LibreOffice shows it (en-US): `1,234.500 KWD`."""
    number, code = text.rsplit(" ", 1)
    assert code == currency, text
    return Decimal(number.replace(",", ""))


@pytest.mark.slow
def test_libreoffice_sums_every_layout_and_currency_right(projects: Projects, tmp_path: Path) -> None:
    """One soffice run for the nine files: the values Calc read (its re-saved xlsx) and the amounts it
    shows (its csv with number formats applied) sum to the database's."""
    made = {(currency, layout): build(projects, currency, layout, tmp_path, format_="xlsx")
            for currency in CURRENCIES for layout in LAYOUTS}
    books = read_libreoffice([file.path for file in made.values()], tmp_path)
    for (currency, layout), file in made.items():
        expected = database_sums(projects.session, projects.by_currency[currency], layout)
        book = books[file.path]
        # The data sheet, the first (the last is the control totals' Summary: test_summary_sheet.py).
        saved, shown = next(iter(book.saved.values())), next(iter(book.shown.values()))
        values = [[cell.value for cell in row] for row in saved]  # calamine's reading of Calc's file
        check_sums(column_sums(values, file.headers, _number), expected, f"libreoffice saved {currency} {layout}")
        check_sums(column_sums(shown, file.headers, lambda text, code=currency: _shown_amount(text, code)),
                   expected, f"libreoffice shown {currency} {layout}")
