"""Every file proven by independent readers (issue 4, point 2): the csv by the `csv` module, the xlsx by
openpyxl, python-calamine and LibreOffice Calc itself, each cell compared value by value and type by
type with the database, on data chosen to break writers (tests/files/torture.py).

The files come through the real path (orders type -> registry writers). The production xlsx writer
(`get_writer("xlsx")`) is also compared with the reference one (tests/files/reference_xlsx.py): both
files must read back the same in every reader, down to formats, frozen rows, filters and widths.

LibreOffice is slow to start (seconds), so every xlsx of the module goes through one batch in the
module fixture (`read_libreoffice`: two soffice runs in parallel, one per target format). Under
~20 s for the module on a 2-core machine; a missing soffice fails the tests with what to install. The
tests on that fixture are marked slow (`make test-fast` leaves them out).

Two known faults have a test of their own (each fails while the fault is there, across readers):
sub-second instants (test_sub_second_...) and chained `_xHHHH_` look-alikes (test_text_like_...).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.exports.writers.xlsx.cells import TRUNCATION_MARKER
from crowdexports.exports.writers.xlsx.writer import XlsxWriter
from crowdexports.models import Project
from tests.conftest import Stack
from tests.files import expect
from tests.files.conftest import module_session
from tests.files.expect import (
    READERS,
    LibreOfficeBook,
    check_sheets,
    describe_calamine,
    describe_openpyxl,
    expected_rows,
    read_calamine,
    read_csv,
    read_libreoffice,
    read_openpyxl,
    write_with,
)
from tests.files.reference_xlsx import ReferenceXlsxWriter
from tests.files.torture import (
    BIG_ORDER_IDS,
    BIG_REWARD_ID,
    CHAINED_ESCAPES,
    EXCEL_CELL_UNITS,
    FORMULAS,
    ILLEGAL,
    INSTANTS,
    LONG_NOTES,
    NUL_SAMPLE,
    PLANE_SAMPLES,
    PROJECTS,
    SUB_SECOND_INSTANTS,
    build_big_ids,
    build_escapes,
    build_sub_second,
    build_torture,
    units,
)
from tests.servers import ServerError

SPLIT_ROWS = 5  # rows per sheet of the split case: several sheets from a handful of orders
CASES = ["EUR", "JPY", "KWD", "JPY-sheets-of-5", "big-ids"]
LANGS = {"EUR": "fr"}  # the language the file is read in (headers, reward texts); English otherwise


@dataclass
class Case:
    key: str
    project: Project
    columns: list[OutputColumn]
    expected: list[dict[str, Any]]
    csv: Path
    xlsx: Path  # get_writer("xlsx"), or its class with a small sheet limit
    reference: Path  # ReferenceXlsxWriter, same limit
    rows_per_sheet: int | None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Torture:
    session: Session
    cases: dict[str, Case]
    libreoffice: dict[Path, LibreOfficeBook]


def _write_case(session: Session, key: str, project: Project, out: Path, rows_per_sheet: int | None = None) -> Case:
    lang = LANGS.get(key.split("-")[0], "en")
    production = get_writer("xlsx") if rows_per_sheet is None else XlsxWriter(rows_per_sheet)
    reference = ReferenceXlsxWriter() if rows_per_sheet is None else ReferenceXlsxWriter(rows_per_sheet)
    case = Case(key, project, [], expected_rows(session, project, lang), out / f"{key}.csv",
                out / f"{key}-production.xlsx", out / f"{key}-reference.xlsx", rows_per_sheet)
    for name, writer, path in (("csv", get_writer("csv"), case.csv), ("xlsx", production, case.xlsx),
                               ("reference", reference, case.reference)):
        case.columns, case.counts[name] = write_with(writer, session, project, path, lang=lang)
    return case


@pytest.fixture(scope="module")
def torture(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> Iterator[Torture]:
    out = tmp_path_factory.mktemp("torture")
    with module_session(stack, out / "db") as session:
        projects = dict(zip([spec.key for spec in PROJECTS], build_torture(session), strict=True))
        cases = {key: _write_case(session, key, project, out) for key, project in projects.items()}
        cases["JPY-sheets-of-5"] = _write_case(session, "JPY-sheets-of-5", projects["JPY"], out, SPLIT_ROWS)
        cases["sub-second"] = _write_case(session, "sub-second", build_sub_second(session), out)
        cases["escapes"] = _write_case(session, "escapes", build_escapes(session), out)
        cases["big-ids"] = _write_case(session, "big-ids", build_big_ids(session), out)  # last: see its doc
        books = read_libreoffice([path for case in cases.values() for path in (case.xlsx, case.reference)], out)
        yield Torture(session, cases, books)


def _sheets(torture: Torture, key: str, reader: str, writer: str = "xlsx") -> dict[str, list[list[Any]]]:
    """What `reader` reads of the file `writer` ("csv", "xlsx": production, "reference") made for `key`."""
    case = torture.cases[key]
    path = getattr(case, writer)
    if reader == "csv":
        return {"": read_csv(case.csv)}
    if reader == "openpyxl":
        return read_openpyxl(path)
    if reader == "calamine":
        return read_calamine(path)
    book = torture.libreoffice[path]
    return book.shown if reader == "libreoffice shown" else book.saved


# --- the data is what it claims to be ------------------------------------------------------------------

@pytest.mark.slow
def test_torture_data_holds_what_it_promises(torture: Torture) -> None:
    rows = [row for key in ("EUR", "JPY", "KWD") for row in torture.cases[key].expected]
    columns = torture.cases["EUR"].columns
    texts = [row[c.id] for row in rows for c in columns if c.kind in expect.TEXT_KINDS and row[c.id]]
    notes = [row["order.note"] for row in rows]
    chars = set("".join(texts))
    planes = {ord(ch) >> 16 for ch in chars}
    assert planes == {0, 1, 2, 3, 14, 15, 16}, planes
    assert all(set(sample) <= chars for sample in PLANE_SAMPLES.values())
    assert set(ILLEGAL) <= chars  # every XML-illegal character, in the database
    on_sqlite = torture.session.get_bind().dialect.name == "sqlite"
    # PostgreSQL's text types cannot hold NUL (psycopg refuses it): NUL is stored on SQLite only.
    assert ("\x00" in chars) is on_sqlite and (NUL_SAMPLE in texts) is on_sqlite
    assert any(unicodedata.bidirectional(ch) == "R" for ch in chars) and any(unicodedata.combining(ch) for ch in chars)
    assert {"\u200f", "\u202e", "\u2028", "\ufeff", "\u00a0", "\u200d"} <= chars
    assert set(FORMULAS) <= set(texts) and {"=1+1", "+1", "-1", "@SUM(A1)"} <= set(notes)
    assert {"0012", "1e5", "TRUE", "2026-01-01", "1/2", "_x0041_", "&amp; &<>\"' ]]> <![CDATA[x]]> <t>x</t>",
            "  leading and trailing  ", "\tTab start", "\r=1+1", "line1\r\nline2\nline3\rline4"} <= set(texts)
    postal = {row[f"{prefix}.postal_code"] for row in rows for prefix in ("shipping_address", "billing_address")}
    assert {"01234", "00000"} <= postal
    assert set(LONG_NOTES.values()) <= set(notes)
    assert any(len(note) <= EXCEL_CELL_UNITS < units(note) for note in notes)  # over in UTF-16 units only
    assert max(units(note) for note in notes) > EXCEL_CELL_UNITS
    # Amounts: 0.1 + 0.2, 99,999,999.99, zero, negative; three currencies' decimals; orders without items.
    eur = torture.cases["EUR"].expected
    assert Decimal("0.30") in {row["order.total"] for row in eur}
    assert Decimal("99999999.99") in {row["order.reward.price"] for row in eur}
    amounts = {row[c] for row in rows for c in ("order.total", "order.reward.price") if row[c] is not None}
    assert Decimal(0) in amounts and min(amounts) < 0
    assert {case.project.currency for case in torture.cases.values()} == {"EUR", "JPY", "KWD"}
    assert any(row["order.reward.id"] is None for row in rows)
    assert any(row["shipping_address.city"] is None for row in rows)
    # Local times around DST changes, shown as the wall clock of each project's time zone.
    for key in ("EUR", "JPY", "KWD"):
        case = torture.cases[key]
        local = {row["order.created_at"].strftime("%Y-%m-%d %H:%M:%S") for row in case.expected}
        assert {text for _utc, text in INSTANTS[case.project.timezone]} <= local, key
    assert {case.project.timezone for case in torture.cases.values()} == {"Europe/Paris", "America/New_York"}
    ambiguous = [row for row in eur if row["order.created_at"].strftime("%H:%M") == "02:30"]
    assert len({row["order.id"] for row in ambiguous}) == 2  # two orders, one local time
    assert 20 <= len(rows) <= 100  # tens of rows: fast


# --- each reader, every cell, against the database ----------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("key", CASES)
def test_csv_module_reads_the_database(torture: Torture, key: str) -> None:
    case = torture.cases[key]
    assert case.counts["csv"] == len(case.expected)
    raw = case.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\r\n")
    check_sheets("csv", {"": read_csv(case.csv)}, case.columns, case.expected, case.project.currency)


@pytest.mark.slow
@pytest.mark.parametrize("key", CASES)
def test_openpyxl_reads_the_database(torture: Torture, key: str) -> None:
    case = torture.cases[key]
    assert case.counts["xlsx"] == len(case.expected)
    sheets = read_openpyxl(case.xlsx)
    check_sheets("openpyxl", sheets, case.columns, case.expected, case.project.currency,
                 rows_per_sheet=case.rows_per_sheet)
    last = get_column_letter(len(case.columns))
    for described, rows in zip(describe_openpyxl(case.xlsx), sheets.values(), strict=True):
        assert described["freeze_panes"] == "A2"
        assert described["filter"] == f"A1:{last}{len(rows)}"
        assert all(8 <= width <= 51 for width in described["widths"]), described["widths"]
        assert units(described["name"]) <= 31 and not set(described["name"]) & set("[]:*?/\\")
    if case.rows_per_sheet:
        assert len(sheets) > 2


@pytest.mark.slow
@pytest.mark.parametrize("key", CASES)
def test_calamine_reads_the_database(torture: Torture, key: str) -> None:
    case = torture.cases[key]
    check_sheets("calamine", read_calamine(case.xlsx), case.columns, case.expected, case.project.currency,
                 rows_per_sheet=case.rows_per_sheet)


@pytest.mark.slow
@pytest.mark.parametrize("key", CASES)
def test_libreoffice_shows_the_database(torture: Torture, key: str) -> None:
    """As a bookkeeper sees it in Calc: formats applied (money with the currency's decimals and code)."""
    case = torture.cases[key]
    book = torture.libreoffice[case.xlsx]
    assert list(book.shown) == list(read_calamine(case.xlsx))  # every sheet, same names, same order
    check_sheets("libreoffice shown", book.shown, case.columns, case.expected, case.project.currency,
                 rows_per_sheet=case.rows_per_sheet)


@pytest.mark.slow
@pytest.mark.parametrize("key", CASES)
def test_libreoffice_parses_values_and_types(torture: Torture, key: str) -> None:
    """LibreOffice's own xlsx of the file: numbers stay numbers, dates dates, look-alike text text; the
    bold header and the filter survive. (Not the frozen row: headless Calc has no view to keep it in,
    whoever wrote the file; openpyxl checks it.)"""
    case = torture.cases[key]
    book = torture.libreoffice[case.xlsx]
    check_sheets("libreoffice saved", book.saved, case.columns, case.expected, case.project.currency,
                 rows_per_sheet=case.rows_per_sheet)
    last = get_column_letter(len(case.columns))
    for described, rows in zip(describe_openpyxl(book.workbook), book.saved.values(), strict=True):
        assert described["filter"] == f"A1:{last}{len(rows)}", described["name"]


@pytest.mark.slow
def test_libreoffice_read_every_file_in_one_batch(torture: Torture) -> None:
    """Every xlsx of the module (both writers' files of every case) went through the one batch."""
    assert set(torture.libreoffice) == {path for case in torture.cases.values() for path in (case.xlsx, case.reference)}
    assert all(book.shown and book.saved for book in torture.libreoffice.values())


# --- the streaming writer against the reference writer ------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("key", CASES)
def test_production_and_reference_writers_read_back_identical(torture: Torture, key: str) -> None:
    """Every difference is listed: name, frozen pane, filter, widths, then each cell (value, type, number
    format, bold) by openpyxl; values and their types by calamine; the text LibreOffice shows, and what
    its re-save of each file holds."""
    case = torture.cases[key]
    assert case.counts["xlsx"] == case.counts["reference"] == len(case.expected)
    differences = []
    production, reference = describe_openpyxl(case.xlsx), describe_openpyxl(case.reference)
    if [sheet["name"] for sheet in production] != [sheet["name"] for sheet in reference]:
        differences.append(f"sheet names {[s['name'] for s in production]} != {[s['name'] for s in reference]}")
    for mine, theirs in zip(production, reference, strict=False):
        for aspect in ("freeze_panes", "filter", "widths"):
            if mine[aspect] != theirs[aspect]:
                differences.append(f"openpyxl {mine['name']!r} {aspect}: {mine[aspect]} != {theirs[aspect]}")
        if len(mine["cells"]) != len(theirs["cells"]):
            differences.append(f"openpyxl {mine['name']!r}: {len(mine['cells'])} != {len(theirs['cells'])} rows")
        for number, (row, other) in enumerate(zip(mine["cells"], theirs["cells"], strict=False), 1):
            for column, (cell, other_cell) in enumerate(zip(row, other, strict=False)):
                if cell != other_cell:
                    differences.append(f"openpyxl {mine['name']!r} {get_column_letter(column + 1)}{number}: "
                                       f"{cell!r:.120} != {other_cell!r:.120}")
            if len(row) != len(other):
                differences.append(f"openpyxl {mine['name']!r} row {number}: {len(row)} != {len(other)} cells")
    if describe_calamine(case.xlsx) != describe_calamine(case.reference):
        differences.append("calamine values or types differ")
    mine_lo, theirs_lo = torture.libreoffice[case.xlsx], torture.libreoffice[case.reference]
    if mine_lo.shown != theirs_lo.shown:
        differences.append("LibreOffice shows the files differently")
    if describe_openpyxl(mine_lo.workbook) != describe_openpyxl(theirs_lo.workbook):
        differences.append("LibreOffice's re-saves of the files differ")
    assert not differences, f"{len(differences)} differences (production != reference):\n" + "\n".join(differences)


# --- a writer bug would be seen ---------------------------------------------------------------------

MUTATIONS: dict[str, Callable[[Any], Any]] = {  # column -> a wrong expectation, close to the right one
    "billing_address.postal_code": lambda value: (value or "0")[1:] or "x",  # a lost leading character
    "order.total": lambda value: value + Decimal("0.01"),
    "order.created_at": lambda value: value + timedelta(seconds=1),
    "order.note": lambda value: (value or "") + " ",
}


@pytest.mark.slow
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("column", list(MUTATIONS))
def test_every_reader_notices_a_wrong_cell(torture: Torture, reader: str, column: str) -> None:
    """The checks are not vacuous: one cell expected slightly differently fails every reader."""
    case = torture.cases["EUR"]
    row = next(i for i, values in enumerate(case.expected) if values[column] not in (None, ""))
    expected = [dict(values) for values in case.expected]
    expected[row][column] = MUTATIONS[column](expected[row][column])
    with pytest.raises(AssertionError, match=f"row {row + 1} .*{column}"):
        check_sheets(reader, _sheets(torture, "EUR", reader), case.columns, expected, "EUR")


# --- instants that are not whole seconds ------------------------------------------------------------

@pytest.mark.slow
def test_sub_second_instants_show_the_second_of_the_csv(torture: Torture) -> None:
    """23:59:59.999999 on New Year's Eve is 23:59:59 in the csv; an xlsx value of 23:59:59.999999 is
    shown by Calc and Excel (format `hh:mm:ss`) rounded: 2027-01-01 00:00:00, another day, another year.
    Every file must carry the second the csv shows, whichever writer made it."""
    case = torture.cases["sub-second"]
    local = [text for _instant, text in SUB_SECOND_INSTANTS]
    assert [row["order.created_at"].strftime("%Y-%m-%d %H:%M:%S") for row in case.expected] == local
    assert all(row["order.created_at"].microsecond for row in case.expected)
    failures = _failures(torture, "sub-second")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_text_like_ooxml_escapes_reads_back_as_written(torture: Torture) -> None:
    """xlsx text is XML where `_xHHHH_` stands for a character (Excel, calamine, LibreOffice decode it), so
    a writer must escape the underscore of every such sequence in the text, chained ones included:
    `_x005F_x0041_` must be written `_x005F_x005F_x005F_x0041_`, or it reads back as `_x005FA`.

    The production writer only: the reference writer has the same fault inside the XlsxWriter library
    (3.3.1 escapes with a non-overlapping search), which is why the comparison data has no such text."""
    case = torture.cases["escapes"]
    assert {row["order.note"] for row in case.expected} == set(CHAINED_ESCAPES)
    # Not LibreOffice's re-save: Calc's own xlsx export has the same fault (7.4 writes the text
    # `_x005F_x0041_` as it is), although it shows the text right when the file is right.
    failures = _failures(torture, "escapes", [reader for reader in READERS if reader != "libreoffice saved"],
                         writers=("csv", "xlsx"))
    assert not failures, "\n".join(failures)


def _failures(torture: Torture, key: str, readers: Sequence[str] = READERS,
              writers: Sequence[str] = ("csv", "xlsx", "reference")) -> list[str]:
    """Every reader on the files of the writers (csv, production xlsx, reference): the first wrong cell of each."""
    case = torture.cases[key]
    failures = []
    for writer in writers:
        for reader in readers:
            if (reader == "csv") != (writer == "csv"):
                continue
            try:
                check_sheets(reader, _sheets(torture, key, reader, writer), case.columns, case.expected,
                             case.project.currency)
            except AssertionError as error:
                name = {"xlsx": "production writer", "reference": "reference writer"}.get(writer, "csv writer")
                failures.append(f"{name}, {str(error).splitlines()[0]}")
    return failures


# --- ids past Excel's 15 significant digits ------------------------------------------------------------

@pytest.mark.slow
def test_ids_over_15_digits_are_their_digits_as_text_smaller_ones_numbers(torture: Torture) -> None:
    """Excel keeps 15 significant digits: a 19-digit order id in a number cell reads back as another id
    (1234567890123456768 in calamine, 1.23456789012346E+18 in Calc). Such an id must be a text cell of
    exactly its digits in every reader, for both writers, while a small id stays a number cell."""
    case = torture.cases["big-ids"]
    ids = {row["order.id"] for row in case.expected}
    assert set(BIG_ORDER_IDS) < ids and min(ids) < 10**15  # and the order with the database's own id
    assert {row["order.reward.id"] for row in case.expected} > {BIG_REWARD_ID}
    failures = _failures(torture, "big-ids")
    assert not failures, "\n".join(failures)
    # The same cells, spelled out: order 1234567890123456789's row, reward 9223372036854775807.
    row = next(i for i, values in enumerate(case.expected, 1) if values["order.id"] == 1_234_567_890_123_456_789
               and values["order.reward.id"] == BIG_REWARD_ID)
    order_col, reward_col, quantity_col = (next(i for i, c in enumerate(case.columns) if c.id == column_id)
                                           for column_id in ("order.id", "order.reward.id", "order.reward.quantity"))
    for path in (case.xlsx, case.reference):
        (cells,) = read_openpyxl(path).values()
        assert [(cells[row][i].value, cells[row][i].data_type) for i in (order_col, reward_col, quantity_col)] == [
            ("1234567890123456789", "s"), ("9223372036854775807", "s"), (2, "n")]
        (values,) = read_calamine(path).values()
        assert [values[row][i] for i in (order_col, reward_col)] == ["1234567890123456789", "9223372036854775807"]
        (shown,) = torture.libreoffice[path].shown.values()
        assert [shown[row][i] for i in (order_col, reward_col, quantity_col)] == [
            "1234567890123456789", "9223372036854775807", "2"]
        (saved,) = torture.libreoffice[path].saved.values()
        assert saved[row][order_col].cell.data_type == "s" and saved[row][quantity_col].cell.data_type == "n"
        small = next(i for i, values in enumerate(case.expected, 1) if values["order.id"] < 10**15)
        assert cells[small][order_col].data_type == "n" and isinstance(values[small][order_col], int | float)


def test_the_big_integer_rule_holds_for_every_integer_column_and_sign(tmp_path: Path) -> None:
    """The rule is the integer kind's, not the ids': negative values and the boundary on both sides, in
    any INTEGER column, straight through the writers (quantities never get there, but nothing relies on it)."""
    columns = [OutputColumn("order.reward.quantity", ColumnKind.INTEGER, "Quantity")]
    values = [10**15 - 1, 10**15, -(10**15) + 1, -(10**15), 2**63, -(2**63), 0]
    paths = []
    for name, writer in (("production", get_writer("xlsx")), ("reference", ReferenceXlsxWriter())):
        paths.append(tmp_path / f"{name}.xlsx")
        writer.write(paths[-1], columns, [(value,) for value in values], SheetInfo("EUR", "Quantities"))
    for path in paths:
        (cells,) = read_openpyxl(path).values()
        (read,) = read_calamine(path).values()
        for number, value in enumerate(values, 1):
            expect.check_openpyxl_cell(ColumnKind.INTEGER, value, cells[number][0], "EUR", f"{path.name} {value}")
            expect.check_calamine_cell(ColumnKind.INTEGER, value, read[number][0], f"{path.name} {value}")
        assert [cell.data_type for row in cells[1:] for cell in row] == ["n", "s", "n", "s", "s", "s", "n"]


# --- LibreOffice must be there -------------------------------------------------------------------------

def test_missing_soffice_fails_with_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(expect, "SOFFICE_CANDIDATES", [tmp_path / "no-soffice"])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerError, match="apt-get install --no-install-recommends libreoffice-calc-nogui"):
        read_libreoffice([tmp_path / "a.xlsx"])


def test_expectations_cut_and_clean_like_excel() -> None:
    """The expectation helpers themselves, on hand-made cases (independent of any writer)."""
    marker = TRUNCATION_MARKER
    assert expect.xlsx_text("a\x01b\ufffe\x00c\t\r\n") == "abc\t\r\n"
    assert expect.xlsx_text("x" * EXCEL_CELL_UNITS) == "x" * EXCEL_CELL_UNITS
    cut = expect.xlsx_text("x" * (EXCEL_CELL_UNITS + 1))
    assert cut.endswith(marker) and units(cut) == EXCEL_CELL_UNITS
    split = expect.xlsx_text(LONG_NOTES["cut inside a pair"])
    assert units(split) == EXCEL_CELL_UNITS - 1 and split == "a" * (EXCEL_CELL_UNITS - 14) + marker
    assert expect.csv_cell_text("\x01=1") == "'=1" and expect.csv_cell_text("x" * 40_000) == "x" * 40_000
    assert expect.money_shown(Decimal("-99999999.99"), "EUR") == "-99,999,999.99 EUR"
    assert expect.money_shown(Decimal("1500"), "JPY") == "1,500 JPY"
    assert expect.libreoffice_text("a\r\nb\rc\n\rd") == "a\nb\nc\nd" and expect.libreoffice_text("a\rb") == "a\rb"
    squashed = expect.xml_legal(expect.plain_text("<p>a \x01 b</p>"))
    assert isinstance(squashed, expect.Squashed) and squashed == "a b"
    assert expect.TEXT_KINDS == {ColumnKind.TEXT, ColumnKind.IDENTIFIER}
