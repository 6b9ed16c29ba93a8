"""Files are safe to open: no formula runs, no illegal character breaks a file, Excel's limits are
handled visibly (truncation marker, extra sheets), and both formats carry the same text."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.orm import Session

from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.exports.writers.xlsx.cells import TRUNCATION_MARKER
from crowdexports.exports.writers.xlsx.writer import XlsxWriter
from crowdexports.models import User
from tests.factories import make_order, make_project, make_reward, make_user
from tests.files.expect import ooxml_unescape, read_calamine, read_csv, read_openpyxl, write_both

PAYLOADS = ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", " =1", "＝1+1", '=HYPERLINK("http://x.test","go")',
            "=1+2\";=1+2", "-2"]
START = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def _sheet_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        return [archive.read(name).decode() for name in names]


def test_formulas_are_neutralised_in_csv_and_inert_in_xlsx(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "=cmd|' /C calc'!A0")
    reward = make_reward(session, project, price=1000)
    for number, payload in enumerate(PAYLOADS):
        backer = User(username=f"evil{number}", email=f"evil{number}@example.com", name=payload, lang="en")
        session.add(backer)
        session.commit()
        make_order(session, project, backer, [(reward, 1)], note=payload, postal_code=payload,
                   created_at=START + timedelta(minutes=number))
    requested = {"order.note": "note", "user.full_name": "name", "billing_address.postal_code": "zip",
                 "order.total": "total", "order.id": "id"}
    written = write_both(session, project, tmp_path, requested=requested)

    rows = read_csv(written.csv)[1:]
    assert len(rows) == len(PAYLOADS)
    for row, payload in zip(rows, PAYLOADS, strict=True):
        assert row[:3] == ["'" + payload] * 3, payload  # the apostrophe, then the exact text
        assert row[3] == "10.00"  # money is never escaped

    (sheet,) = read_openpyxl(written.xlsx).values()
    (calamine,) = read_calamine(written.xlsx).values()
    for cells, cal_row, payload in zip(sheet[1:], calamine[1:], PAYLOADS, strict=True):
        for cell, cal_value in zip(cells[:3], cal_row[:3], strict=True):
            # The exact text, in a string cell.
            assert cell.data_type == "s" and ooxml_unescape(cell.value) == payload
            assert cal_value == payload
        assert cells[3].data_type == "n" and cells[3].value == 10
    (xml,) = _sheet_xml(written.xlsx)
    assert "<f>" not in xml and "<f " not in xml
    assert 't="inlineStr"' in xml


def test_negative_money_stays_a_number(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Refunds")
    order = make_order(session, project, owner, [], created_at=START)
    order.total = -250
    session.commit()
    written = write_both(session, project, tmp_path, requested={"order.total": "t", "order.note": "n"})
    assert read_csv(written.csv)[1] == ["-2.50", ""]
    (sheet,) = read_openpyxl(written.xlsx).values()
    assert sheet[1][0].data_type == "n" and sheet[1][0].value == -2.5


def test_control_characters_removed_emoji_and_rtl_kept(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Chars")
    note = "a\x00b\x01c\x08d\x0be\x0cf\x1bg\x1fh\ufffei\uffffj 😀🎉 שלום مرحبا\ttab\nline"
    if session.get_bind().dialect.name == "postgresql":  # its text cannot hold NUL; test_cells covers NUL cells
        note = note.replace("\x00", "")
    make_order(session, project, owner, [], note=note, created_at=START)
    written = write_both(session, project, tmp_path, requested={"order.note": "n"})
    clean = "abcdefghij 😀🎉 שלום مرحبا\ttab\nline"
    assert read_csv(written.csv)[1] == [clean]
    (sheet,) = read_openpyxl(written.xlsx).values()
    assert ooxml_unescape(sheet[1][0].value) == clean
    (calamine,) = read_calamine(written.xlsx).values()
    assert calamine[1] == [clean]


COLUMNS = [OutputColumn("n", ColumnKind.INTEGER, "N"), OutputColumn("t", ColumnKind.TEXT, "Text"),
           OutputColumn("m", ColumnKind.MONEY, "Money"), OutputColumn("d", ColumnKind.DATETIME, "When"),
           OutputColumn("p", ColumnKind.IDENTIFIER, "Zip")]
INFO = SheetInfo(currency="EUR", title="Q1/Q2 [draft]: *best*? quarterly figures")


def _rows(count: int) -> list[tuple[object, ...]]:
    return [(i, f"text {i}", Decimal(i).scaleb(-2), datetime(2026, 1, 1, 0, 0, i % 60), f"{i:05d}")
            for i in range(1, count + 1)]


def test_lone_surrogates_never_reach_a_file(tmp_path: Path) -> None:
    # A lone surrogate cannot even be stored in SQLite; the writers must still survive one.
    rows = [(1, "bad \ud800 half", None, None, "0\udfff1")]
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"s.{fmt}"
        assert get_writer(fmt).write(path, COLUMNS, rows, INFO) == 1
    assert read_csv(tmp_path / "s.csv")[1] == ["1", "bad  half", "", "", "01"]
    (calamine,) = read_calamine(tmp_path / "s.xlsx").values()
    assert calamine[1] == [1, "bad  half", "", "", "01"]


def test_long_text_truncated_with_marker_in_xlsx_whole_in_csv(session: Session, tmp_path: Path) -> None:
    owner = make_user(session)
    project = make_project(session, owner, "Long")
    note = ("Lorem ipsum 😀 " * 3000)[:40_000]
    make_order(session, project, owner, [], note=note, created_at=START)
    written = write_both(session, project, tmp_path, requested={"order.note": "n", "order.id": "id"})
    assert read_csv(written.csv)[1][0] == note
    (calamine,) = read_calamine(written.xlsx).values()
    cell = calamine[1][0]
    assert cell.endswith(TRUNCATION_MARKER)
    assert len(cell.encode("utf-16-le")) // 2 <= 32_767
    assert len(cell.encode("utf-16-le")) // 2 > 32_767 - 20  # cut at the limit, not far before it
    assert note.startswith(cell[: -len(TRUNCATION_MARKER)])
    assert calamine[1][1] == written.row_count["xlsx"]  # the row goes on after the long cell


def test_rows_past_the_sheet_limit_continue_on_new_sheets(tmp_path: Path) -> None:
    rows = _rows(8)
    path = tmp_path / "split.xlsx"
    assert XlsxWriter(rows_per_sheet=3).write(path, COLUMNS, rows, INFO) == 8
    sheets = read_calamine(path)
    assert list(sheets) == ["Q1 Q2 draft best quarterly figu", "Q1 Q2 draft best quarterly (2)",
                            "Q1 Q2 draft best quarterly (3)"]
    assert [len(sheet) for sheet in sheets.values()] == [4, 4, 3]
    headers = ["N", "Text", "Money", "When", "Zip"]
    assert all(sheet[0] == headers for sheet in sheets.values())
    data = [row for sheet in sheets.values() for row in sheet[1:]]
    assert [row[0] for row in data] == list(range(1, 9))
    assert [row[4] for row in data] == [f"{i:05d}" for i in range(1, 9)]
    book = openpyxl.load_workbook(path)  # every sheet behaves the same: bold, frozen, filtered header
    assert all(cell.font.b for ws in book.worksheets for cell in ws[1])
    assert [ws.freeze_panes for ws in book.worksheets] == ["A2"] * 3
    assert [ws.auto_filter.ref for ws in book.worksheets] == ["A1:E4", "A1:E4", "A1:E3"]


def test_exact_multiple_of_the_limit_makes_no_empty_sheet(tmp_path: Path) -> None:
    path = tmp_path / "exact.xlsx"
    assert XlsxWriter(rows_per_sheet=4).write(path, COLUMNS, _rows(8), INFO) == 8
    assert [len(sheet) for sheet in read_calamine(path).values()] == [5, 5]


def test_the_default_limit_is_excel_s() -> None:
    assert XlsxWriter().rows_per_sheet == 1_048_575  # + the header = 1,048,576 rows
    with pytest.raises(ValueError):
        XlsxWriter(rows_per_sheet=1_048_576)


def test_xlsx_presentation(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    XlsxWriter().write(path, COLUMNS, _rows(3), INFO)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E4"
    assert all(sheet.column_dimensions[letter].width >= 8 for letter in "ABCDE")
    assert sheet["C2"].number_format == '#,##0.00 "EUR"'
    assert sheet["D2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["E2"].data_type == "s" and sheet["E2"].value == "00001"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_errors_from_rows_propagate(tmp_path: Path, fmt: str) -> None:
    class Stop(Exception):
        pass

    def rows() -> Iterator[Sequence[object]]:
        yield from _rows(2)
        raise Stop

    with pytest.raises(Stop):
        get_writer(fmt).write(tmp_path / f"e.{fmt}", COLUMNS, rows(), INFO)


def test_csv_is_rfc_4180(tmp_path: Path) -> None:
    rows = [(1, 'comma, "quote"\r\nnewline', Decimal("1.50"), datetime(2026, 1, 1, 8, 0), "01000")]
    path = tmp_path / "r.csv"
    get_writer("csv").write(path, COLUMNS, rows, INFO)
    expected = ('\ufeffN,Text,Money,When,Zip\r\n'
                '1,"comma, ""quote""\r\nnewline",1.50,2026-01-01 08:00:00,01000\r\n')
    assert path.read_bytes() == expected.encode()


def test_a_sheet_ends_before_its_xml_would_need_zip64(tmp_path: Path) -> None:
    """The 4 GiB entry limit, scaled down: each sheet stays under it, every row lands once, in order."""
    path = tmp_path / "bytes.xlsx"
    limit = 150_000
    assert XlsxWriter(max_sheet_bytes=limit).write(path, COLUMNS, _rows(2000), INFO) == 2000
    with zipfile.ZipFile(path) as archive:
        sizes = [info.file_size for info in archive.infolist() if info.filename.startswith("xl/worksheets/")]
    assert len(sizes) > 2 and all(size <= limit for size in sizes)
    sheets = read_calamine(path)
    assert all(sheet[0] == ["N", "Text", "Money", "When", "Zip"] for sheet in sheets.values())
    assert [row[0] for sheet in sheets.values() for row in sheet[1:]] == list(range(1, 2001))
    book = openpyxl.load_workbook(path)
    assert [ws.auto_filter.ref for ws in book.worksheets] == [f"A1:E{ws.max_row}" for ws in book.worksheets]


def test_package_layout_is_recognised_and_needs_no_zip64(tmp_path: Path) -> None:
    """libmagic (`file`, mail scanners) wants `_rels/.rels` first and an `xl/` part third; Zip64
    extra fields are avoided because some readers refuse them."""
    path = tmp_path / "layout.xlsx"
    XlsxWriter(rows_per_sheet=2).write(path, COLUMNS, _rows(5), INFO)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        content_types = archive.read("[Content_Types].xml").decode()
        workbook = archive.read("xl/workbook.xml").decode()
    names = [info.filename for info in infos]
    assert names[0] == "_rels/.rels" and names[2].startswith("xl/")
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in infos)
    assert all(b"\x01\x00" not in info.extra[:2] for info in infos)  # 0x0001 is the Zip64 extra field
    sheets = [name for name in names if name.startswith("xl/worksheets/")]
    assert len(sheets) == 3 and all(f'PartName="/{name}"' in content_types for name in sheets)
    assert workbook.count("_xlnm._FilterDatabase") == 3


def test_text_needing_care_reads_back_exactly(tmp_path: Path) -> None:
    """Rows taking the careful path (spaces at the ends, CR, look-alike escapes, markup) beside plain
    rows: every reader gets the exact text, and the plain cells of a careful row are unaffected."""
    texts = [" lead", "trail ", "a\r\nb", "_x0041_ stays", "<b>&amp;</b> & \"q\" 'a'", "\tTab", "plain"]
    rows = [(i, text, Decimal("1.10"), datetime(2026, 1, 1), f"0{i}") for i, text in enumerate(texts)]
    path = tmp_path / "care.xlsx"
    XlsxWriter().write(path, COLUMNS, rows, INFO)
    (calamine,) = read_calamine(path).values()
    (sheet,) = read_openpyxl(path).values()
    assert [row[1] for row in calamine[1:]] == texts
    assert [ooxml_unescape(row[1].value) for row in sheet[1:]] == texts
    assert [row[4] for row in calamine[1:]] == [f"0{i}" for i in range(len(texts))]
    assert all(row[2].value == 1.1 and row[2].number_format == '#,##0.00 "EUR"' for row in sheet[1:])


def test_dates_excel_cannot_count_are_written_as_text(tmp_path: Path) -> None:
    """Excel's serials start in 1900 (and count a 29 February 1900 that never was): an earlier
    date is written as its text rather than as a wrong day."""
    rows = [(1, "", None, datetime(1899, 12, 31, 23, 59, 59), ""), (2, "", None, datetime(1900, 3, 1), ""),
            (3, "", None, datetime(2026, 3, 29, 2, 30, 15, 999_999), "")]
    path = tmp_path / "old.xlsx"
    XlsxWriter().write(path, COLUMNS, rows, INFO)
    (sheet,) = read_openpyxl(path).values()
    assert sheet[1][3].data_type == "s" and sheet[1][3].value == "1899-12-31 23:59:59"
    assert sheet[2][3].is_date and sheet[2][3].value == datetime(1900, 3, 1)
    assert sheet[3][3].value == datetime(2026, 3, 29, 2, 30, 15)  # to the second, as in the csv


@pytest.mark.parametrize(("payload", "expected"), [("=1+1", "'=1+1"), ("\x01bad", "bad"), (" @x", "' @x"),
                                                 ("＝1", "'＝1")])
def test_csv_checks_every_text_cell_of_a_row(tmp_path: Path, payload: str, expected: str) -> None:
    """The csv writer checks a row's texts together; one risky cell among plain ones is still caught."""
    columns = [*COLUMNS, OutputColumn("t2", ColumnKind.TEXT, "More")]
    path = tmp_path / "care.csv"
    plain = (1, "plain", Decimal("1.00"), datetime(2026, 1, 1), "00001", "also plain")
    rows = [plain, (2, payload, *plain[2:]), (3, *plain[1:4], payload, "x"), (4, *plain[1:5], payload), plain]
    get_writer("csv").write(path, columns, rows, INFO)
    got = read_csv(path)[1:]
    assert [got[1][1], got[2][4], got[3][5]] == [expected] * 3
    assert got[0] == got[4] == ["1", "plain", "1.00", "2026-01-01 00:00:00", "00001", "also plain"]
