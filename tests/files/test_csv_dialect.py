"""The csv writer's two dialects, byte for byte: `rfc4180` is exactly the file it always was, `excel_eu`
differs only by its `;` separator and decimal comma in money cells."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers import get_writer
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.exports.writers.cells import format_money_decimal_comma
from crowdexports.exports.writers.csv import CsvDialect, CsvOptions

COLUMNS = [OutputColumn("n", ColumnKind.INTEGER, "N"), OutputColumn("t", ColumnKind.TEXT, "Text; notes"),
           OutputColumn("m", ColumnKind.MONEY, "Money"), OutputColumn("d", ColumnKind.DATETIME, "When"),
           OutputColumn("p", ColumnKind.IDENTIFIER, "Zip")]
ROWS = [
    (1, 'comma, "quote"\r\nnewline', Decimal("1234.50"), datetime(2026, 1, 1, 8, 0), "01000"),
    (22, "semi; colon", Decimal("-0.05"), None, "=1+1"),
    (None, "=SUM(A1)\x01", Decimal("1E+3"), datetime(2026, 12, 31, 23, 59, 59), None),
    (4, "12,5", Decimal("1500000"), None, "-2"),
]
EXPECTED = {
    CsvDialect.RFC4180: (
        '\ufeffN,Text; notes,Money,When,Zip\r\n'
        '1,"comma, ""quote""\r\nnewline",1234.50,2026-01-01 08:00:00,01000\r\n'
        "22,semi; colon,-0.05,,'=1+1\r\n"
        ",'=SUM(A1),1000,2026-12-31 23:59:59,\r\n"
        '4,"12,5",1500000,,\'-2\r\n'
    ),
    CsvDialect.EXCEL_EU: (
        '\ufeffN;"Text; notes";Money;When;Zip\r\n'
        '1;"comma, ""quote""\r\nnewline";1234,50;2026-01-01 08:00:00;01000\r\n'
        "22;\"semi; colon\";-0,05;;'=1+1\r\n"
        ";'=SUM(A1);1000;2026-12-31 23:59:59;\r\n"
        "4;12,5;1500000;;'-2\r\n"
    ),
}


@pytest.mark.parametrize("dialect", list(CsvDialect))
def test_each_dialect_byte_for_byte(tmp_path: Path, dialect: CsvDialect) -> None:
    path = tmp_path / f"{dialect}.csv"
    count = get_writer("csv").write(path, COLUMNS, ROWS, SheetInfo("EUR", "t"), CsvOptions(dialect))
    assert count == len(ROWS)
    assert path.read_bytes() == EXPECTED[dialect].encode()


def test_the_default_dialect_is_rfc4180(tmp_path: Path) -> None:
    path = tmp_path / "default.csv"
    get_writer("csv").write(path, COLUMNS, ROWS, SheetInfo("EUR", "t"))
    assert path.read_bytes() == EXPECTED[CsvDialect.RFC4180].encode()


def test_excel_eu_reads_back_with_a_semicolon_reader(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    get_writer("csv").write(path, COLUMNS, ROWS, SheetInfo("EUR", "t"), CsvOptions(CsvDialect.EXCEL_EU))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter=";"))
    assert header == ["N", "Text; notes", "Money", "When", "Zip"]
    assert [row[1] for row in rows] == ['comma, "quote"\r\nnewline', "semi; colon", "'=SUM(A1)", "12,5"]
    assert [Decimal(row[2].replace(",", ".")) for row in rows] == [row[2] for row in ROWS]


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1234.50"), "1234,50"), (Decimal("-0.005"), "-0,005"), (Decimal("7"), "7"),
    (Decimal("1E+2"), "100"), (Decimal("1E-7"), "0,0000001"), (None, None),
])
def test_money_with_a_decimal_comma(value: Decimal | None, text: str | None) -> None:
    assert format_money_decimal_comma(value) == text
    assert text is None or Decimal(text.replace(",", ".")) == value
