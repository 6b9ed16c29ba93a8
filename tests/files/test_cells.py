from __future__ import annotations

from datetime import datetime

import pytest

from crowdexports.exports.writers.cells import (
    clean_text,
    cut_utf16,
    format_datetime,
    format_money,
    neutralise_formula,
    safe_text,
)


@pytest.mark.parametrize("text", [
    "=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", " =1", "  +1", "\u3000=1", "＝1+1", "＋1",
    "－1", "−1", "＠SUM(A1)", "｜cmd", "！x", '=HYPERLINK("http://x","y")', "=1+2\";=1+2",
])
def test_formula_like_text_gets_a_leading_apostrophe(text: str) -> None:
    assert neutralise_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["", " ", "abc", "a=1", "12", "1-1", "O'Neil", "mail@example.com", "'quoted",
                                  "東京", "שלום"])
def test_harmless_text_is_unchanged(text: str) -> None:
    assert neutralise_formula(text) == text


def test_clean_text_drops_xml_illegal_characters_only() -> None:
    illegal = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF, 0xD800,
                                0xDFFF]))
    assert clean_text(f"a{illegal}b") == "ab"
    kept = "tab\there\nline\r\n😀 שלום مرحبا 東京 \u2028 \x7f é"
    assert clean_text(kept) == kept


def test_cleaning_comes_before_neutralising() -> None:
    assert neutralise_formula(clean_text("\x00=1+1")) == "'=1+1"


def test_datetime_text_has_seconds_precision() -> None:
    assert format_datetime(datetime(2026, 3, 29, 3, 0, 0, 999999)) == "2026-03-29 03:00:00"
    assert format_datetime(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05"


def test_cut_utf16_counts_astral_characters_as_two_units() -> None:
    assert cut_utf16("ab😀c", 3) == "ab"  # never half an emoji
    assert cut_utf16("ab😀c", 4) == "ab😀"
    assert cut_utf16("short", 100) == "short"


def test_safe_text_is_clean_then_neutralise() -> None:
    samples = ["", " ", "plain", "=1", " \x00=1", "\x00=1", "\u3000+1", "\u00a0-1", "a\x01b", "\t", "\x1c=1",
               "＋1", "\ud800=1", "😀=1", " x", "\n\nline", "'=1"]
    for text in samples:
        assert safe_text(text) == neutralise_formula(clean_text(text)), repr(text)
    assert safe_text(None) is None  # an empty cell stays empty


def test_formatters_pass_empty_cells_through() -> None:
    assert format_money(None) is None and format_datetime(None) is None
