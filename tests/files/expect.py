"""Independent expectations for export files: computed from ORM objects, read back by independent readers
(csv module; openpyxl, python-calamine and LibreOffice Calc for xlsx).

Nothing here calls the code under test's conversion helpers: money, dates, names, language choice,
HTML stripping and formula escaping are re-derived with plain Python so that a bug in the export
cannot be mirrored by the expectation.
"""

from __future__ import annotations

import csv
import hashlib
import html
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time as clock
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.cell.cell import Cell
from openpyxl.workbook.workbook import Workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.exports.options import NO_OPTIONS, Options
from crowdexports.exports.requests import validate_export_request
from crowdexports.exports.types import get_type
from crowdexports.exports.types.base import ColumnKind, ExportContext, OutputColumn, select_columns
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import RowWriter, SheetInfo
from crowdexports.exports.writers.csv import CsvWriter
from crowdexports.exports.writers.digest import write_hashed
from crowdexports.exports.writers.xlsx.cells import TRUNCATION_MARKER
from crowdexports.exports.writers.xlsx.writer import XlsxWriter
from crowdexports.models import Address, Order, OrderItem, Project, Reward, User
from tests.servers import ServerError

DECIMALS = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}
TRIGGERS = set("=+-@\t\r\n") | {"\uff1d", "\uff0b", "\uff0d", "\u2212", "\uff20", "\uff5c", "\uff01"}
TEXT_KINDS = frozenset({ColumnKind.TEXT, ColumnKind.IDENTIFIER})
EXCEL_CELL_UNITS = 32_767  # Excel's limit for one cell, in UTF-16 code units
EXCEL_SIGNIFICANT_DIGITS = 15  # Excel's numbers keep this many: a longer integer would be changed


@dataclass
class Written:
    columns: list[OutputColumn]
    csv: Path
    xlsx: Path
    row_count: dict[str, int]


def write_both(session: Session, project: Project, out: Path, *, lang: str = "en",
               requested: dict[str, str] | None = None, layout: str | None = None) -> Written:
    """The real path: registry type -> rows -> registry writers, to files in `out`; with a `layout`, its
    columns and options as a request's checks give them."""
    export_type = get_type("orders")
    columns = select_columns(export_type.catalogue, requested, lang)
    options: Options = NO_OPTIONS
    if layout is not None:
        valid = validate_export_request("orders", "csv", requested, lang, layout=layout)
        columns, options = valid.columns, valid.type_options
    context = ExportContext(project.id, lang, project.lang, project.currency, ZoneInfo(project.timezone),
                            columns, options)
    counts = {}
    paths = {}
    for fmt in ("csv", "xlsx"):
        writer = get_writer(fmt)
        paths[fmt] = out / f"export-{lang}.{writer.extension}"
        counts[fmt], _ = write_hashed(writer, paths[fmt], columns, export_type.rows(session, context),
                                      SheetInfo(project.currency, project.name))
    return Written(columns, paths["csv"], paths["xlsx"], counts)


def write_with(writer: RowWriter, session: Session, project: Project, path: Path, *, lang: str = "en",
               requested: dict[str, str] | None = None) -> tuple[list[OutputColumn], int]:
    """The same path as write_both, through any writer (the reference xlsx writer, a small sheet limit)."""
    export_type = get_type("orders")
    columns = select_columns(export_type.catalogue, requested, lang)
    context = ExportContext(project.id, lang, project.lang, project.currency, ZoneInfo(project.timezone),
                            columns)
    rows, info = export_type.rows(session, context), SheetInfo(project.currency, project.name)
    if isinstance(writer, CsvWriter | XlsxWriter):  # ours: through the stream the pipeline writes to
        count, sha256 = write_hashed(writer, path, columns, rows, info)
        assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    else:  # the reference writer, which writes to a path
        count = writer.write(path, columns, rows, info)
    return columns, count


def money(minor: int, currency: str) -> Decimal:
    return Decimal(minor) / (Decimal(10) ** DECIMALS[currency])


class Squashed(str):
    """Expected text whose line breaks and runs of spaces are not asserted: compare squash(cell)."""


def plain_text(markup: str) -> Squashed:
    """Tags removed (with the content of script, style and template), entities decoded, whitespace collapsed."""
    markup = re.sub(r"<(script|style|template)\b.*?</\1\s*>", " ", markup, flags=re.DOTALL | re.IGNORECASE)
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


# The "Order status" cells a reader sees, written out here rather than read from exports.status_words.
STATUS_CELLS = {
    "en": {"processing": "Processing", "awaiting-confirmation": "Awaiting confirmation",
           "payment-completed": "Payment completed", "cancelled": "Cancelled", "payment-done": "Payment done",
           "payment-invalid": "Payment invalid", "payment-reimbursed": "Reimbursed", "error": "Error"},
    "fr": {"processing": "En cours", "awaiting-confirmation": "En attente de confirmation",
           "payment-completed": "Paiement terminé", "cancelled": "Annulée", "payment-done": "Paiement effectué",
           "payment-invalid": "Paiement invalide", "payment-reimbursed": "Remboursée", "error": "En erreur"},
}


# The layouts' rules, written out here again (not imported): an order's own amounts, and in `orders`
# how the item cells of an order become one cell.
ORDER_AMOUNT_IDS = ("order.total", "order.subtotal", "order.shipping_total")
JOINED_WITH = {"order.reward.id": ", ", "order.reward.title": "\n", "order.reward.description": "\n\n"}
SUMMED_IDS = ("order.reward.quantity", "order.reward.total")


def expected_rows(session: Session, project: Project, lang: str, layout: str = "items") -> list[dict[str, Any]]:
    """One dict per expected row (column id -> typed value), straight from the ORM objects, in `layout`:
    `items` (an order's amounts on its first row only), `items_repeated` (on every row) or `orders`."""
    item_rows = _item_rows(session, project, lang)
    if layout == "items_repeated":
        return item_rows
    by_order: dict[int, list[dict[str, Any]]] = {}
    for row in item_rows:
        by_order.setdefault(row["order.id"], []).append(row)
    rows = []
    for group in by_order.values():
        if layout == "items":
            rows.append(group[0])
            rows += [{**row, **dict.fromkeys(ORDER_AMOUNT_IDS)} for row in group[1:]]
            continue
        assert layout == "orders", layout
        merged = dict(group[0])
        for column_id, separator in JOINED_WITH.items():
            parts = [str(row[column_id]) for row in group if row[column_id] is not None]
            joined = separator.join(parts)
            # Squashed texts (HTML made plain) are compared squashed: so is their join.
            squashed = any(isinstance(row[column_id], Squashed) for row in group)
            merged[column_id] = (Squashed(squash(joined)) if squashed else joined) if parts else None
        for column_id in SUMMED_IDS:
            merged[column_id] = None if group[0][column_id] is None else sum(row[column_id] for row in group)
        del merged["order.reward.price"]
        rows.append(merged)
    return rows


def _item_rows(session: Session, project: Project, lang: str) -> list[dict[str, Any]]:
    """One dict per order item (one per order without items), the order's amounts on each."""
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
        for item in items or (None,):
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
                "order.payment_method": order.payment_method,
                "order.status": STATUS_CELLS.get(lang, STATUS_CELLS["en"]).get(order.status, order.status),
                "order.status_code": order.status,
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


# --- the text each format must carry, from the database's text -------------------------------------

def xml_char(ch: str) -> bool:
    """XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."""
    code = ord(ch)
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def xml_legal(text: str) -> str:
    """`text` without the characters XML 1.0 forbids: both formats drop them, csv included."""
    if text.isascii() and text.isprintable():
        return text
    cleaned = "".join(filter(xml_char, text))
    return Squashed(squash(cleaned)) if isinstance(text, Squashed) else cleaned


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def xlsx_text(text: str) -> str:
    """An xlsx cell's text: XML-legal, and past 32,767 UTF-16 units (Excel's limit) cut to end with
    TRUNCATION_MARKER at the limit, never inside a surrogate pair. The csv keeps the whole text."""
    text = xml_legal(text)
    if utf16_units(text) <= EXCEL_CELL_UNITS:
        return text
    room = EXCEL_CELL_UNITS - utf16_units(TRUNCATION_MARKER)
    kept: list[str] = []
    used = 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            break
        kept.append(ch)
    return "".join(kept) + TRUNCATION_MARKER


def integer_as_text(value: int) -> bool:
    """An integer Excel cannot hold exactly (more than 15 digits): the xlsx must carry its digits as text."""
    return len(str(abs(value))) > EXCEL_SIGNIFICANT_DIGITS


def csv_cell_text(text: str) -> str:
    """A csv cell's text: XML-legal (the same text as the xlsx), whole, `'` before a formula trigger."""
    text = xml_legal(text)
    shown = csv_text(text)
    return Squashed(shown) if isinstance(text, Squashed) else shown


def whole_seconds(value: datetime) -> datetime:
    """Both formats carry seconds: the csv as text, the xlsx as the same second (never rounded up)."""
    return value.replace(microsecond=0)


def money_shown(amount: Decimal, currency: str) -> str:
    """`#,##0.00 "EUR"` as a spreadsheet shows it (en-US): 99,999,999.99 EUR, -10.50 EUR, 1,500 JPY."""
    return f"{amount:,.{DECIMALS[currency]}f} {currency}"


def differs(expected: Any, actual: Any) -> str:
    """A short account of how two cell values differ, readable even for 40,000-character notes."""
    if not (isinstance(expected, str) and isinstance(actual, str)) or max(len(expected), len(actual)) < 200:
        return f"expected {expected!r}, read {actual!r}"
    at = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
              min(len(expected), len(actual)))
    return (f"{len(expected)} vs {len(actual)} characters ({utf16_units(expected)} vs {utf16_units(actual)} "
            f"UTF-16 units), first difference at {at}: expected {expected[at - 20:at + 20]!r}, "
            f"read {actual[at - 20:at + 20]!r}")


# --- cell comparisons, one per reader; `where` names the cell in failure messages ---------------

def check_csv_cell(kind: ColumnKind, expected: Any, cell: str, currency: str, where: str) -> None:
    if kind in TEXT_KINDS and expected is not None:
        expected = csv_cell_text(expected)
        assert same_text(expected, cell), f"{where}: {differs(expected, cell)}"
    elif expected is None:
        assert cell == "", where
    elif kind is ColumnKind.INTEGER:
        assert cell == str(expected), where
    elif kind is ColumnKind.MONEY:
        decimals = DECIMALS[currency]
        pattern = r"-?\d+" + (rf"\.\d{{{decimals}}}" if decimals else "")
        assert re.fullmatch(pattern, cell), f"{where}: {cell!r} is not a plain {decimals}-decimal number"
        assert Decimal(cell) == expected, where
    elif kind is ColumnKind.DATETIME:
        assert cell == expected.strftime("%Y-%m-%d %H:%M:%S"), f"{where}: {differs(expected, cell)}"
    else:
        raise AssertionError(f"{where}: unknown kind {kind}")


def check_openpyxl_cell(kind: ColumnKind, expected: Any, cell: Cell, currency: str, where: str) -> None:
    if kind in TEXT_KINDS and expected is not None:
        expected = xlsx_text(expected)
    if expected is None or expected == "":
        assert cell.value is None, f"{where}: {cell.value!r} is not an empty cell"
    elif kind is ColumnKind.INTEGER and integer_as_text(expected):
        assert cell.data_type == "s" and cell.value == str(expected), f"{where}: {differs(str(expected), cell.value)}"
    elif kind is ColumnKind.INTEGER:
        assert cell.data_type == "n" and cell.value == expected, f"{where}: {differs(expected, cell.value)}"
    elif kind is ColumnKind.MONEY:
        assert cell.data_type == "n", where
        assert Decimal(str(cell.value)) == expected, f"{where}: {cell.value!r} != {expected}"
        decimals = DECIMALS[currency]
        assert cell.number_format == "#,##0" + ("." + "0" * decimals if decimals else "") + f' "{currency}"'
    elif kind is ColumnKind.DATETIME:
        assert cell.is_date and cell.value == whole_seconds(expected), \
            f"{where}: {differs(whole_seconds(expected), cell.value)}"
    else:
        assert cell.data_type == "s", f"{where}: a {cell.data_type!r} cell, not a string cell"
        text = ooxml_unescape(cell.value)
        assert same_text(expected, text), f"{where}: {differs(expected, text)}"


def check_calamine_cell(kind: ColumnKind, expected: Any, value: Any, where: str) -> None:
    if kind in TEXT_KINDS and expected is not None:
        expected = xlsx_text(expected)
    if expected is None or expected == "":
        assert value == "", f"{where}: {value!r} is not an empty cell"
    elif kind is ColumnKind.MONEY:
        assert isinstance(value, float) and Decimal(str(value)) == expected, where
    elif kind is ColumnKind.INTEGER and integer_as_text(expected):
        assert isinstance(value, str) and value == str(expected), f"{where}: {differs(str(expected), value)}"
    elif kind is ColumnKind.INTEGER:
        assert isinstance(value, int | float) and value == expected, f"{where}: {differs(expected, value)}"
    elif kind is ColumnKind.DATETIME:
        if type(value) is date:  # calamine reads a whole-day serial as a date
            value = datetime.combine(value, time.min)
        assert isinstance(value, datetime) and value == whole_seconds(expected), \
            f"{where}: {differs(whole_seconds(expected), value)}"
    else:
        assert isinstance(value, str) and same_text(expected, value), f"{where}: {differs(expected, value)}"


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


# --- LibreOffice: the third xlsx reader, Calc itself -----------------------------------------------

SOFFICE_PACKAGE = "libreoffice-calc-nogui"
SOFFICE_CANDIDATES = [Path("/usr/bin/soffice"), Path("/usr/lib/libreoffice/program/soffice")]
# The csv export filter's tokens (LibreOffice help, "CSV Filter Options"):
#   1: 44 field separator `,`    2: 34 text delimiter `"`    3: 76 UTF-8    4: 1 first line (import only)
#   5: (empty) column formats (import only)    6: 0 language of the UI, pinned to en-US (C.UTF-8) below
#   7: false, quote only the text that needs it    8: true, numbers as numbers (not quoted text)
#   9: true, cell contents as shown (number formats applied)    10: false, values rather than formulas
#  11: false, spaces kept (no trimming)    12: -1, every sheet to `<file stem>-<sheet name>.csv` (>= 7.2)
LIBREOFFICE_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
LIBREOFFICE_XLSX = "xlsx:Calc MS Excel 2007 XML"
LIBREOFFICE_TIMEOUT = 240  # seconds for one batch; a few files take a few seconds


@dataclass
class LibreOfficeBook:
    """One xlsx as LibreOffice Calc read it, seen two ways:

    - `shown`: every sheet exported to csv *as shown*, so number formats are applied: money is
      `99,999,999.99 EUR` (the currency's decimals and code), dates `2026-03-29 01:59:59`; this proves
      the formats as well as the values, as a bookkeeper opening the file sees them.
    - `saved`: LibreOffice's own re-save of the file as xlsx, read with openpyxl: the raw values and
      the types Calc parsed (number, string or date), the bold header, frozen row and filter it kept.
    """

    shown: dict[str, list[list[str]]]  # sheet name -> rows of cell texts
    saved: dict[str, list[list[SavedCell]]]  # sheet name -> rows of cells
    workbook: Workbook  # the re-saved workbook, by openpyxl (freeze panes, filters)


@dataclass
class SavedCell:
    """A cell of LibreOffice's re-saved xlsx: openpyxl's view (type, format, font) and calamine's value.
    Calamine's, because openpyxl reads shared strings (which Calc writes) by deleting every `x005F_`:
    `_x005F_x005F_ alone`, Calc's correct escape of `_x005F_ alone`, would read `_ alone`."""

    cell: Cell
    value: Any


def find_soffice() -> Path:
    """LibreOffice's `soffice`; a ServerError saying what to install when it is missing (tests fail, never skip)."""
    on_path = shutil.which("soffice")
    for candidate in [*SOFFICE_CANDIDATES, *([Path(on_path)] if on_path else [])]:
        if candidate.is_file():
            return candidate
    raise ServerError(f"soffice (LibreOffice) not found: the xlsx files are proven by LibreOffice too. Install it: "
                      f"apt-get install --no-install-recommends {SOFFICE_PACKAGE} (scripts/ensure-system-packages "
                      f"does it as root)")


def libreoffice_text(text: str) -> str:
    """Calc's text model, whatever the file says (seen on 7.4): a text holding a LF becomes a multi-line
    cell whose line breaks, CR LF, LF CR, CR or LF, are each one LF; a text without LF keeps its CRs."""
    if "\n" not in text:
        return text
    shown = re.sub("\r\n|\n\r|\r|\n", "\n", text)
    return Squashed(shown) if isinstance(text, Squashed) else shown


def _soffice(soffice: Path, target: str, outdir: Path, paths: Sequence[Path], profile: Path) -> subprocess.Popen[str]:
    """Start one conversion of `paths` with a profile of its own: parallel runs never share one."""
    command = [str(soffice), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--nologo", "--convert-to", target, "--outdir", str(outdir), *map(str, paths)]
    # C.UTF-8 pins the formats shown to en-US, and lets file names hold any sheet name (under a locale
    # that does not exist, LibreOffice silently writes no csv for a sheet named with non-ASCII).
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    env.pop("LANGUAGE", None)
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)


def _wait(process: subprocess.Popen[str], deadline: float, what: str) -> str:
    try:
        output, _ = process.communicate(timeout=max(0.1, deadline - clock.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: soffice and the soffice.bin it started
        output, _ = process.communicate()
        raise AssertionError(f"{what}: no result within {LIBREOFFICE_TIMEOUT}s\n{output[-3000:]}") from None
    if process.returncode != 0:
        raise AssertionError(f"{what}: soffice exited with {process.returncode}\n{output[-3000:]}")
    return output


def read_libreoffice(paths: Iterable[Path], workdir: Path | None = None) -> dict[Path, LibreOfficeBook]:
    """Every xlsx of `paths` opened by LibreOffice: each file shown as csv (all sheets) and re-saved as xlsx.

    One soffice run per target format converts every file (its start-up, about a second, is paid once per
    batch, not per file); the two runs go in parallel. File names (stems) must differ.
    """
    paths = list(paths)
    assert len({path.stem for path in paths}) == len(paths), "LibreOffice writes <stem>-<sheet>.csv: stems must differ"
    soffice = find_soffice()
    with tempfile.TemporaryDirectory(prefix="lo-", dir=workdir) as temp:
        root = Path(temp)
        shown_dir, saved_dir = root / "shown", root / "saved"
        runs = {"csv": _soffice(soffice, LIBREOFFICE_CSV, shown_dir, paths, root / "profile-csv"),
                "xlsx": _soffice(soffice, LIBREOFFICE_XLSX, saved_dir, paths, root / "profile-xlsx")}
        deadline = clock.monotonic() + LIBREOFFICE_TIMEOUT
        try:
            outputs = {target: _wait(run, deadline, f"LibreOffice to {target}") for target, run in runs.items()}
        finally:
            for run in runs.values():
                if run.poll() is None:
                    os.killpg(run.pid, signal.SIGKILL)
                    run.communicate()
        books = {}
        for path in paths:
            saved_path = saved_dir / path.name
            assert saved_path.is_file(), f"LibreOffice did not re-save {path.name}\n{outputs['xlsx'][-3000:]}"
            workbook = openpyxl.load_workbook(saved_path)
            shown = {}
            for name in workbook.sheetnames:
                sheet_csv = shown_dir / f"{path.stem}-{name}.csv"
                assert sheet_csv.is_file(), f"LibreOffice wrote no {sheet_csv.name}\n{outputs['csv'][-3000:]}"
                with sheet_csv.open(encoding="utf-8-sig", newline="") as file:
                    shown[name] = list(csv.reader(file))
            values = read_calamine(saved_path)
            saved = {}
            for sheet in workbook.worksheets:
                rows = values.get(sheet.title, [])
                saved[sheet.title] = [
                    [SavedCell(cell, rows[r][c] if r < len(rows) and c < len(rows[r]) else "")
                     for c, cell in enumerate(row)] for r, row in enumerate(sheet.iter_rows())]
            books[path] = LibreOfficeBook(shown, saved, workbook)
        sheets = sum(len(book.shown) for book in books.values())
        written = sorted(shown_dir.glob("*.csv"))
        assert len(written) == sheets, f"{sheets} sheets, but LibreOffice wrote {[p.name for p in written]}"
    return books


def check_libreoffice_shown_cell(kind: ColumnKind, expected: Any, cell: str, currency: str, where: str) -> None:
    """A cell as LibreOffice shows it (its csv export with number formats applied)."""
    if kind in TEXT_KINDS and expected is not None:
        expected = libreoffice_text(xlsx_text(expected))
    if expected is None or expected == "":
        assert cell == "", f"{where}: {cell!r} is not an empty cell"
    elif kind is ColumnKind.INTEGER:
        assert cell == str(expected), f"{where}: {differs(str(expected), cell)}"
    elif kind is ColumnKind.MONEY:
        assert cell == money_shown(expected, currency), f"{where}: {differs(money_shown(expected, currency), cell)}"
    elif kind is ColumnKind.DATETIME:
        text = whole_seconds(expected).strftime("%Y-%m-%d %H:%M:%S")
        assert cell == text, f"{where}: {differs(text, cell)}"
    else:
        assert same_text(expected, cell), f"{where}: {differs(expected, cell)}"


def check_libreoffice_saved_cell(kind: ColumnKind, expected: Any, saved: SavedCell, currency: str,
                                 where: str) -> None:
    """A cell of LibreOffice's re-saved xlsx: the value and the type Calc parsed from ours."""
    cell = saved.cell
    if kind in TEXT_KINDS and expected is not None:
        expected = libreoffice_text(xlsx_text(expected))
    if expected is None or expected == "":
        assert cell.value is None, f"{where}: {cell.value!r} is not an empty cell"
    elif kind is ColumnKind.INTEGER and integer_as_text(expected):
        assert cell.data_type == "s" and saved.value == str(expected), f"{where}: {differs(str(expected), saved.value)}"
    elif kind is ColumnKind.INTEGER:
        assert cell.data_type == "n" and cell.value == expected, f"{where}: {differs(expected, cell.value)}"
    elif kind is ColumnKind.MONEY:
        assert cell.data_type == "n", f"{where}: a {cell.data_type!r} cell, not a number"
        assert Decimal(str(cell.value)) == expected, f"{where}: {differs(expected, cell.value)}"
        # Calc rewrites the code (`#,##0.00" EUR"`) but must keep the decimals and the currency.
        decimals = DECIMALS[currency]
        shape = re.sub(r'["\\]', "", cell.number_format)
        assert shape == "#,##0" + ("." + "0" * decimals if decimals else "") + f" {currency}", \
            f"{where}: number format {cell.number_format!r}"
    elif kind is ColumnKind.DATETIME:
        assert cell.is_date and cell.value == whole_seconds(expected), \
            f"{where}: {differs(whole_seconds(expected), cell.value)}"
    else:
        assert cell.data_type == "s", f"{where}: a {cell.data_type!r} cell, not a string cell"
        assert same_text(expected, saved.value), f"{where}: {differs(expected, saved.value)}"


# --- every sheet and every cell, one reader at a time ------------------------------------------------

READERS = ("csv", "openpyxl", "calamine", "libreoffice shown", "libreoffice saved")


def check_sheets(reader: str, sheets: dict[str, list[list[Any]]], columns: Sequence[OutputColumn],
                 expected: list[dict[str, Any]], currency: str, *, rows_per_sheet: int | None = None) -> None:
    """Every sheet of one file as `reader` read it: the header on each sheet (bold where the reader can
    tell), the data rows in order across sheets (each sheet full but the last), every cell against
    `expected` (value and type). `sheets` is {"": rows} for a csv read by the csv module."""
    headers = [column.header for column in columns]
    data: list[list[Any]] = []
    for name, rows in sheets.items():
        assert rows, f"{reader}: sheet {name!r} is empty"
        head = rows[0]
        if reader == "csv":
            assert head == [csv_text(header) for header in headers], f"{reader}: header {head}"
        elif reader == "openpyxl":
            assert [ooxml_unescape(cell.value) for cell in head] == headers, f"{reader} {name!r}: header {head}"
            assert all(cell.font.b for cell in head), f"{reader} {name!r}: header not bold"
        elif reader == "libreoffice saved":
            assert [saved.value for saved in head] == headers, f"{reader} {name!r}: header {head}"
            assert all(saved.cell.font.b for saved in head), f"{reader} {name!r}: header not bold"
        else:
            assert head == headers, f"{reader} {name!r}: header {head}"
        data.extend(rows[1:])
    if rows_per_sheet is not None:
        sizes = [len(rows) - 1 for rows in sheets.values()]
        assert all(size == rows_per_sheet for size in sizes[:-1]) and 0 < sizes[-1] <= rows_per_sheet, sizes
    assert len(data) == len(expected), f"{reader}: {len(data)} data rows, {len(expected)} expected"
    for number, (row, values) in enumerate(zip(data, expected, strict=True), 1):
        assert len(row) == len(columns), f"{reader}: row {number} has {len(row)} cells, not {len(columns)}"
        for column, cell in zip(columns, row, strict=True):
            value, where = values[column.id], f"{reader}: row {number} (order {values['order.id']}) {column.id}"
            if reader == "csv":
                check_csv_cell(column.kind, value, cell, currency, where)
            elif reader == "openpyxl":
                check_openpyxl_cell(column.kind, value, cell, currency, where)
            elif reader == "calamine":
                check_calamine_cell(column.kind, value, cell, where)
            elif reader == "libreoffice shown":
                check_libreoffice_shown_cell(column.kind, value, cell, currency, where)
            else:
                check_libreoffice_saved_cell(column.kind, value, cell, currency, where)


# --- two xlsx writers must give files that read back the same ---------------------------------------

def describe_openpyxl(path_or_book: Path | Workbook) -> list[dict[str, Any]]:
    """Per sheet, what openpyxl sees: name, frozen pane, filter, width of each column, and per cell its
    value (`_xHHHH_` escapes decoded, so equal text written with other escapes compares equal), type,
    and for cells that hold something, number format and boldness."""
    book = path_or_book if isinstance(path_or_book, Workbook) else openpyxl.load_workbook(path_or_book)
    sheets = []
    for sheet in book.worksheets:
        widths = []
        for index in range(1, sheet.max_column + 1):
            dimension = next((d for d in sheet.column_dimensions.values()
                              if d.min is not None and d.max is not None and d.min <= index <= d.max), None)
            widths.append(dimension.width if dimension is not None else None)
        cells = [[(ooxml_unescape(cell.value) if isinstance(cell.value, str) else cell.value, cell.data_type,
                   *((cell.number_format, bool(cell.font.b)) if cell.value is not None else ()))
                  for cell in row] for row in sheet.iter_rows()]
        sheets.append({"name": sheet.title, "freeze_panes": sheet.freeze_panes, "filter": sheet.auto_filter.ref,
                       "widths": widths, "cells": cells})
    return sheets


def describe_calamine(path: Path) -> dict[str, list[list[tuple[str, Any]]]]:
    """Per sheet, calamine's values with their Python types (1 and 1.0 differ here)."""
    return {name: [[(type(value).__name__, value) for value in row] for row in rows]
            for name, rows in read_calamine(path).items()}
