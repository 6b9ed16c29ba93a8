"""One value as xlsx cell text: Excel's cell limit and escapes, number formats, column letters.

Used for the data rows (renderer), the header row (templates) and by the tests' reference writer,
so that every xlsx the project makes or compares with follows the same rules.
"""

from __future__ import annotations

import re

from crowdexports.exports.writers.cells import clean_text, cut_utf16
from crowdexports.money import exponent

MAX_CELL_LENGTH = 32_767  # UTF-16 code units
TRUNCATION_MARKER = "… [truncated]"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
EXACT_INTEGER_LIMIT = 10**15  # Excel keeps 15 significant digits: integers from here on are written as text

_OOXML_ESCAPE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")  # lookahead: in `_x005F_x0041_` both underscores start one
_XML_SPACE = " \t\n\r"


def fit_cell_text(text: str) -> str:
    """`text` cleaned and, past Excel's cell limit, cut so that it ends with TRUNCATION_MARKER."""
    text = clean_text(text)
    # Under half the limit in code points cannot exceed it in UTF-16 units: skip the encode.
    if len(text) <= MAX_CELL_LENGTH // 2 or len(text.encode("utf-16-le")) // 2 <= MAX_CELL_LENGTH:
        return text
    return cut_utf16(text, MAX_CELL_LENGTH - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER


def money_format(currency: str) -> str:
    """Excel number format with the currency's decimals and its code: `#,##0.00 "EUR"`."""
    decimals = exponent(currency)
    code = "".join(ch for ch in currency.upper() if ch.isalnum())
    return "#,##0" + ("." + "0" * decimals if decimals else "") + f' "{code}"'


def text_element(text: str) -> str:
    """The `<t>` element of an inline string cell, or "" when nothing of `text` can be written.

    Excel's own escapes: a carriage return becomes `_x000D_` (XML would turn it into a line feed),
    and a literal `_xHHHH_` gets its underscore escaped so that readers do not decode it.
    """
    text = fit_cell_text(text)
    if not text:
        return ""
    escaped = escape_markup(_OOXML_ESCAPE.sub("_x005F_", text)).replace("\r", "_x000D_")
    if text[0] in _XML_SPACE or text[-1] in _XML_SPACE:
        return f'<t xml:space="preserve">{escaped}</t>'
    return f"<t>{escaped}</t>"


def column_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def escape_markup(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attribute(text: str) -> str:
    """`text` as the value of a double-quoted XML attribute."""
    return escape_markup(text).replace('"', "&quot;")
