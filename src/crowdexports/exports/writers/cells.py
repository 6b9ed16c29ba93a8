"""Cell rules shared by every writer, kept in one place so csv and xlsx carry the same text.

Policy (RELIABILITY §1-§2):
- Typing decides, not content. INTEGER, MONEY and DATETIME values come from int/Decimal/datetime
  and are written as numbers and dates (csv: plain text of the number), never escaped: `-12.50`
  stays a number that SUM() can add. TEXT and IDENTIFIER cells are always checked.
- `clean_text` drops the characters XML 1.0 forbids (C0 controls except TAB/LF/CR, U+FFFE, U+FFFF,
  lone surrogates). Excel's own escape would write them as `_x0001_`, which readers show as
  literal text, and a lone surrogate cannot be encoded as UTF-8 at all. Both writers apply it.
- `neutralise_formula` prefixes `'` to a csv text cell that a spreadsheet would run as a formula:
  one starting, after optional whitespace, with = + - @ TAB CR LF or a full-width / look-alike
  variant (＝ ＋ － − ＠ ｜ ！) that Excel evaluates with some language packs. xlsx does not need
  it: its text cells are string cells, which Excel never evaluates, so xlsx keeps the exact text.
- Money in csv is the exact decimal text (`12.30`, never `1.23E+1`, never a float; `12,30` in the
  excel_eu dialect, never with a thousands separator); datetimes are the project's local time as
  `YYYY-MM-DD HH:MM:SS` in every dialect.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－−＠｜！")
FORMULA_ESCAPE = "'"
# Unicode whitespace ends at U+3000. A text starting with none of these cannot be a formula.
_WHITESPACE = frozenset(ch for ch in map(chr, range(0x3001)) if ch.isspace())
MAYBE_FORMULA = FORMULA_TRIGGERS | _WHITESPACE

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """`text` without the characters an XML 1.0 document (xlsx) cannot hold."""
    if text.isprintable():  # every illegal character is non-printable: skip the regex (5x faster)
        return text
    return _XML_ILLEGAL.sub("", text)


def neutralise_formula(text: str) -> str:
    """`text` with a leading `'` when a spreadsheet would read it as a formula, else unchanged."""
    first = text[:1]
    if first in FORMULA_TRIGGERS or (first in _WHITESPACE and text.lstrip()[:1] in FORMULA_TRIGGERS):
        return FORMULA_ESCAPE + text
    return text


# The csv cell formatters below run for nearly every cell, so each is one call that also
# passes None (an empty cell) through, and safe_text inlines clean_text's fast path.

def safe_text(text: str | None) -> str | None:
    """`neutralise_formula(clean_text(text))`; None stays None."""
    if text is None:
        return None
    if not text.isprintable():
        text = _XML_ILLEGAL.sub("", text)
    return neutralise_formula(text) if text[:1] in MAYBE_FORMULA else text


def format_money(value: Decimal | None) -> str | None:
    """Plain decimal text, exponent notation never: Decimal("1E+2") -> "100"; None stays None."""
    if value is None:
        return None
    text = str(value)  # 3x faster than format(); exact, and without exponent for amounts made by money.py
    return format(value, "f") if "E" in text else text


def format_money_decimal_comma(value: Decimal | None) -> str | None:
    """format_money with a decimal comma (`-1234,50`), as European Excel reads numbers; None stays None."""
    text = format_money(value)
    return None if text is None else text.replace(".", ",")


def format_datetime(value: datetime | None) -> str | None:
    """`YYYY-MM-DD HH:MM:SS` (seconds precision), the form spreadsheets parse; None stays None."""
    return None if value is None else value.isoformat(" ", "seconds")


def cut_utf16(text: str, units: int) -> str:
    """The longest prefix of `text` that fits in `units` UTF-16 code units (Excel counts in those)."""
    return text.encode("utf-16-le")[: 2 * units].decode("utf-16-le", "ignore")
