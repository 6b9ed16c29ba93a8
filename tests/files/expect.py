"""Independent expectations for export files: computed from ORM objects and read back with three readers.

Nothing here calls the code under test's conversion helpers: money, dates, names, language choice,
HTML stripping and formula escaping are re-derived with plain Python so that a bug in the export
cannot be mirrored by the expectation.
"""

from __future__ import annotations

import csv
import html
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.cell.cell import Cell
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import ColumnKind, ExportContext, OutputColumn, select_columns
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.models import Address, Order, OrderItem, Project, Reward, User

DECIMALS = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}
TRIGGERS = set("=+-@\t\r\n") | {"\uff1d", "\uff0b", "\uff0d", "\u2212", "\uff20", "\uff5c", "\uff01"}


@dataclass
class Written:
    columns: list[OutputColumn]
    csv: Path
    xlsx: Path
    row_count: dict[str, int]


def write_both(session: Session, project: Project, out: Path, *, lang: str = "en",
               requested: dict[str, str] | None = None) -> Written:
    """The real path: registry type -> rows -> registry writers, to files in `out`."""
    export_type = get_type("orders")
    columns = select_columns(export_type.catalogue, requested, lang)
    context = ExportContext(project.id, lang, project.lang, project.currency, ZoneInfo(project.timezone),
                            columns)
    counts = {}
    paths = {}
    for fmt in ("csv", "xlsx"):
        writer = get_writer(fmt)
        paths[fmt] = out / f"export-{lang}.{writer.extension}"
        counts[fmt] = writer.write(paths[fmt], columns, export_type.rows(session, context),
                                   SheetInfo(project.currency, project.name))
    return Written(columns, paths["csv"], paths["xlsx"], counts)


def money(minor: int, currency: str) -> Decimal:
    return Decimal(minor) / (Decimal(10) ** DECIMALS[currency])


class Squashed(str):
    """Expected text whose line breaks and runs of spaces are not asserted: compare squash(cell)."""


def plain_text(markup: str) -> Squashed:
    """Tags removed, entities decoded, whitespace collapsed."""
    return Squashed(squash(html.unescape(re.sub(r"<[^>]*>", " ", markup))))


def same_text(expected: str, actual: str) -> bool:
    return squash(actual) == expected if isinstance(expected, Squashed) else actual == expected


def squash(text: str) -> str:
    return " ".join(text.split())


def pick(i18n: dict[str, str], langs: list[str]) -> str:
    for lang in langs:
        if i18n.get(lang):
            return i18n[lang]
    return next((value for value in i18n.values() if value), "")


def expected_rows(session: Session, project: Project, lang: str) -> list[dict[str, Any]]:
    """One dict per expected row (column id -> typed value), straight from the ORM objects."""
    zone = ZoneInfo(project.timezone)
    langs = [lang, project.lang]
    cur = project.currency
    orders = sorted(session.scalars(select(Order).where(Order.project_id == project.id)),
                    key=lambda order: (order.created_at, order.id))
    rows = []
    for order in orders:
        user = session.get(User, order.user_id)
        assert user is not None
        ship = session.get(Address, order.shipping_address_id) if order.shipping_address_id else None
        bill = session.get(Address, order.billing_address_id) if order.billing_address_id else None
        items = sorted(session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)),
                       key=lambda item: item.id)
        for item in items or [None]:
            reward = session.get(Reward, item.reward_id) if item else None
            row: dict[str, Any] = {
                "order.id": order.id, "user.username": user.username, "user.lang": user.lang,
                "user.full_name": user.name or f"{user.first_name} {user.last_name}".strip(),
                "user.email": user.email,
                "order.reward.id": item.reward_id if item else None,
                "order.reward.description": plain_text(pick(reward.description, langs)) if reward else None,
                "order.reward.title": plain_text(pick(reward.title, langs)) if reward else None,
                "order.reward.price": money(item.unit_price, cur) if item else None,
                "order.reward.quantity": item.quantity if item else None,
                "order.reward.total": money(item.line_total, cur) if item else None,
                "order.total": money(order.total, cur), "order.subtotal": money(order.subtotal, cur),
                "order.shipping_total": money(order.shipping_total, cur),
                "order.tracking.source": order.tracking_source,
                "order.tracking.medium": order.tracking_medium,
                "order.payment_method": order.payment_method, "order.status": order.status,
                "order.created_at": order.created_at.astimezone(zone).replace(tzinfo=None),
                "order.note": order.note, "order.currency": cur,
            }
            for prefix, address in (("shipping_address", ship), ("billing_address", bill)):
                for name in ("first_name", "last_name", "entity_name", "type", "address_1", "address_2",
                             "postal_code", "city", "state", "country"):
                    row[f"{prefix}.{name}"] = getattr(address, name) if address else None
            del row["shipping_address.type"]
            rows.append(row)
    return rows


# --- reading back -----------------------------------------------------------------------------

def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "csv must start with a UTF-8 BOM"
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def read_openpyxl(path: Path) -> dict[str, list[list[Cell]]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: [list(row) for row in sheet.iter_rows()] for sheet in workbook.worksheets}


def read_calamine(path: Path) -> dict[str, list[list[Any]]]:
    workbook = CalamineWorkbook.from_path(str(path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}


def ooxml_unescape(text: str) -> str:
    """openpyxl leaves `_xHHHH_` escapes of inline strings as they are; Excel and calamine decode them."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda match: chr(int(match[1], 16)), text)


def csv_text(text: str) -> str:
    return "'" + text if text[:1] in TRIGGERS or text.lstrip()[:1] in TRIGGERS else text


# --- cell comparisons, one per reader; `where` names the cell in failure messages ---------------

def check_csv_cell(kind: ColumnKind, expected: Any, cell: str, currency: str, where: str) -> None:
    if expected is None:
        assert cell == "", where
    elif kind is ColumnKind.INTEGER:
        assert cell == str(expected), where
    elif kind is ColumnKind.MONEY:
        decimals = DECIMALS[currency]
        pattern = r"-?\d+" + (rf"\.\d{{{decimals}}}" if decimals else "")
        assert re.fullmatch(pattern, cell), f"{where}: {cell!r} is not a plain {decimals}-decimal number"
        assert Decimal(cell) == expected, where
    elif kind is ColumnKind.DATETIME:
        assert cell == expected.strftime("%Y-%m-%d %H:%M:%S"), where
    else:
        assert same_text(csv_text(expected), cell), where


def check_openpyxl_cell(kind: ColumnKind, expected: Any, cell: Cell, currency: str, where: str) -> None:
    if expected is None or expected == "":
        assert cell.value is None, where
    elif kind is ColumnKind.INTEGER:
        assert cell.data_type == "n" and cell.value == expected, where
    elif kind is ColumnKind.MONEY:
        assert cell.data_type == "n", where
        assert Decimal(str(cell.value)) == expected, f"{where}: {cell.value!r} != {expected}"
        decimals = DECIMALS[currency]
        assert cell.number_format == "#,##0" + ("." + "0" * decimals if decimals else "") + f' "{currency}"'
    elif kind is ColumnKind.DATETIME:
        assert cell.is_date and cell.value == expected, where
    else:
        assert cell.data_type == "s" and same_text(expected, ooxml_unescape(cell.value)), where


def check_calamine_cell(kind: ColumnKind, expected: Any, value: Any, where: str) -> None:
    if expected is None or expected == "":
        assert value == "", where
    elif kind is ColumnKind.MONEY:
        assert isinstance(value, float) and Decimal(str(value)) == expected, where
    elif kind is ColumnKind.INTEGER:
        assert isinstance(value, int | float) and value == expected, where
    elif kind is ColumnKind.DATETIME:
        if type(value) is date:  # calamine reads a whole-day serial as a date
            value = datetime.combine(value, time.min)
        assert isinstance(value, datetime) and value == expected, where
    else:
        assert isinstance(value, str) and same_text(expected, value), where


def check_files(written: Written, expected: list[dict[str, Any]], currency: str) -> None:
    """Every cell of the csv and of the xlsx (two readers) against `expected`, value and type."""
    columns = written.columns
    headers = [column.header for column in columns]
    assert written.row_count == {"csv": len(expected), "xlsx": len(expected)}

    csv_rows = read_csv(written.csv)
    assert csv_rows[0] == [csv_text(header) for header in headers]
    assert len(csv_rows) == len(expected) + 1
    assert written.csv.read_bytes().count(b"\r\n") >= len(expected) + 1

    (xl_rows,) = read_openpyxl(written.xlsx).values()
    (cal_rows,) = read_calamine(written.xlsx).values()
    assert [cell.value for cell in xl_rows[0]] == headers and all(cell.font.b for cell in xl_rows[0])
    assert cal_rows[0] == headers
    assert len(xl_rows) == len(cal_rows) == len(expected) + 1

    for number, row in enumerate(expected, 1):
        for index, column in enumerate(columns):
            value = row[column.id]
            where = f"row {number} {column.id}"
            check_csv_cell(column.kind, value, csv_rows[number][index], currency, "csv " + where)
            check_openpyxl_cell(column.kind, value, xl_rows[number][index], currency, "openpyxl " + where)
            check_calamine_cell(column.kind, value, cal_rows[number][index], "calamine " + where)
