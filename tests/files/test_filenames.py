from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xlsxwriter

from crowdexports.exports.filenames import export_file_name, sheet_title

DAY = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
FORTY = "Q1/Q2 [draft]: *best*? quarterly figures"
NASTY = [FORTY, 'Été – 東京 "x"; ../../etc', "", "東京", "..", "'quoted'",
         "a\\b\x00c\nd", "History", "x" * 300, "   ", "***"]


def test_file_name_tells_project_type_and_date() -> None:
    assert export_file_name("Solar Kettle", 42, 9, "orders", DAY, "csv") == \
        "solar-kettle-42_orders_2026-11-28_export-9.csv"
    assert export_file_name(FORTY, 3, 9, "orders", DAY, "csv") == \
        "q1-q2-draft-best-quarterly-figures-3_orders_2026-11-28_export-9.csv"
    assert export_file_name("Été – 東京 \"x\"; ../../etc", 7, 9, "orders", DAY, "xlsx") == \
        "ete-x-etc-7_orders_2026-11-28_export-9.xlsx"


def test_two_exports_of_one_project_on_one_day_never_share_a_name() -> None:
    """Issue 16: the same project, type, format and day; only the export differs."""
    names = {export_file_name("Solar Kettle", 42, export_id, "orders", DAY, "csv") for export_id in (1, 2, 1234)}
    assert len(names) == 3


@pytest.mark.parametrize("name", NASTY)
def test_file_names_are_safe_ascii(name: str) -> None:
    file_name = export_file_name(name, 42, 7, "orders", DAY, "xlsx")
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*_orders_2026-11-28_export-7\.xlsx", file_name), file_name
    assert ".." not in file_name and "/" not in file_name and "\\" not in file_name
    assert len(file_name) <= 100
    assert "42" in file_name


@pytest.mark.parametrize("name", ["", "東京", "..", "***"])
def test_file_name_falls_back_to_project_id(name: str) -> None:
    assert export_file_name(name, 42, 7, "orders", DAY, "csv") == "project-42_orders_2026-11-28_export-7.csv"


@pytest.mark.parametrize("name", NASTY)
@pytest.mark.parametrize("suffix", ["", " (2)", " (12)"])
def test_sheet_titles_are_valid_for_excel(name: str, suffix: str, tmp_path: Path) -> None:
    title = sheet_title(name, suffix)
    assert title.endswith(suffix) and title.strip()
    assert len(title.encode("utf-16-le")) // 2 <= 31
    assert not set(title) & set("[]:*?/\\")
    assert not title.startswith("'") and not title.endswith("'")
    assert title.casefold() != "history"
    assert sheet_title(title) == title  # idempotent: callers may pass an already cleaned title
    # XlsxWriter enforces Excel's rules and raises on a bad name.
    workbook = xlsxwriter.Workbook(str(tmp_path / "t.xlsx"))
    workbook.add_worksheet(title)
    workbook.close()


def test_sheet_title_keeps_readable_text() -> None:
    assert len(FORTY) == 40
    assert sheet_title(FORTY) == "Q1 Q2 draft best quarterly figu"
    assert sheet_title(FORTY, " (2)") == "Q1 Q2 draft best quarterly (2)"
    assert sheet_title("Été – 東京") == "Été – 東京"
    assert sheet_title("") == "Export"
