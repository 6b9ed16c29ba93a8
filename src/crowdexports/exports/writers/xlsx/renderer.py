"""Data rows as sheet XML, rendered in batches by a function generated once per export from the columns.

Why generated: one f-string per row, no call per cell, so that a cell costs a few bytecodes (the only
way we found; docs/decisions.md). A row's texts are checked and escaped together with a few C string
methods; a row that needs more care (markup characters are fine, control characters, leading
spaces, `_xHHHH_` look-alikes or very long text are not) is rendered through `cells.text_element`,
the one careful path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.xlsx.cells import (
    EXACT_INTEGER_LIMIT,
    MAX_CELL_LENGTH,
    column_letters,
    escape_markup,
    text_element,
)
from crowdexports.exports.writers.xlsx.templates import STYLE_DATETIME, STYLE_MONEY

_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 0, for dates from 1900-03-01 (Excel's 1900 leap bug)
_FIRST_SERIAL_DATE = datetime(1900, 3, 1)
_SEP = "\ufffc"  # joins a row's texts for the batch checks; printable, so isprintable() still works
# Text written as it is, markup escaped: no control or non-character (isprintable), no `_x` that could
# read as an escape, short enough that no cut is needed, no leading or trailing space to preserve.
_PLAIN_TEXT = ("{0}.isprintable() and '_x' not in {0} and len({0}) <= FAST_TEXT_LENGTH "
               "and {0}[:1] != ' ' and {0}[-1:] != ' '")


class RowRenderer:
    """Renders a batch of rows to sheet XML with one generated function per column layout.

    The generated loop unpacks each row into locals and builds the row with a single f-string, so
    a cell costs a few bytecodes rather than a call. Its source is kept in `source` for debugging.
    """

    def __init__(self, columns: Sequence[OutputColumn]) -> None:
        names = [f"v{i}" for i in range(len(columns))]
        texts = [i for i, column in enumerate(columns) if column.kind in (ColumnKind.TEXT, ColumnKind.IDENTIFIER)]
        fast_cells = "".join(self._cell(i, column.kind, fast=True) for i, column in enumerate(columns))
        careful_cells = "".join(self._cell(i, column.kind, fast=False) for i, column in enumerate(columns))
        text_names = ", ".join(f"v{i}" for i in texts)
        escaped = ", ".join(f"e{i}" for i in texts)
        lines = [
            # Text that needs nothing but markup escaping: one rule, for a value and for a joined row.
            "def careful(v):",
            "    if not v:",
            "        return ''",
            f"    return '<t>' + escape_markup(v) + '</t>' if {_PLAIN_TEXT.format('v')} else text_element(v)",
            "",
            "def render(rows, n):",
            "    out = []",
            "    append = out.append",
            f"    for ({', '.join(names)},) in rows:",
            "        r = str(n)",
        ]
        if texts:
            joined = "f'" + _SEP.join(f"{{v{i}}}" for i in texts) + "'"
            lines += [
                f"        joined = {joined}",
                f"        if ({_PLAIN_TEXT.format('joined')} and joined.count(SEP) == {len(texts) - 1}",
                "                and ' ' + SEP not in joined and SEP + ' ' not in joined):",
                f"            ({escaped},) = escape_markup(joined).split(SEP)",
                f'            append(f"""<row r="{{r}}">{fast_cells}</row>""")',
                "        else:",
                f"            ({escaped},) = map(careful, ({text_names},))",
                f'            append(f"""<row r="{{r}}">{careful_cells}</row>""")',
            ]
        else:
            lines.append(f'        append(f"""<row r="{{r}}">{fast_cells}</row>""")')
        lines += ["        n += 1", "    return ''.join(out)"]
        self.source = "\n".join(lines)
        namespace: dict[str, Any] = {"SEP": _SEP, "FAST_TEXT_LENGTH": MAX_CELL_LENGTH // 2,
                                     "escape_markup": escape_markup, "text_element": text_element,
                                     "datetime_cell": datetime_cell}
        exec(compile(self.source, "<xlsx row renderer>", "exec"), namespace)  # our own source, from column kinds
        self.render: Callable[[Iterable[Sequence[object]], int], str] = namespace["render"]

    @staticmethod
    def _cell(index: int, kind: ColumnKind, *, fast: bool) -> str:
        """One cell of the row f-string; `r` is the row number's text, `v<index>` the value, `e<index>` the text."""
        value, ref = f"v{index}", f"{column_letters(index)}{{r}}"
        if kind is ColumnKind.INTEGER:  # a chained comparison with constants: no call on the hot path
            number = f"f'<c r=\"{ref}\"><v>{{{value}}}</v></c>'"
            digits = f"f'<c r=\"{ref}\" t=\"inlineStr\"><is><t>{{{value}}}</t></is></c>'"
            exact = f"{-EXACT_INTEGER_LIMIT} < {value} < {EXACT_INTEGER_LIMIT}"
            return f"{{'' if {value} is None else {number} if {exact} else {digits}}}"
        if kind is ColumnKind.MONEY:  # str(Decimal): exact, and 3x faster than format()
            return f"{{'' if {value} is None else f'<c r=\"{ref}\" s=\"{STYLE_MONEY}\"><v>{{{value}!s}}</v></c>'}}"
        if kind is ColumnKind.DATETIME:
            return f"{{'' if {value} is None else datetime_cell(f'{ref}', {value})}}"
        text = f"e{index}"
        if fast:  # e<index> is the escaped text, written when the value is not empty
            return f"{{f'<c r=\"{ref}\" t=\"inlineStr\"><is><t>{{{text}}}</t></is></c>' if {value} else ''}}"
        # e<index> is the whole <t> element, or "" when nothing is left to write
        return f"{{f'<c r=\"{ref}\" t=\"inlineStr\"><is>{{{text}}}</is></c>' if {text} else ''}}"


def datetime_cell(ref: str, value: datetime) -> str:
    """A date cell; a date Excel's serials cannot show (before 1900-03-01) is written as its text."""
    if value.tzinfo is not None:  # the contract says naive local time; never write a shifted value
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value < _FIRST_SERIAL_DATE:
        return f'<c r="{ref}" t="inlineStr"><is>{text_element(value.isoformat(" ", "seconds"))}</is></c>'
    return f'<c r="{ref}" s="{STYLE_DATETIME}"><v>{excel_serial(value)!r}</v></c>'


def excel_serial(value: datetime) -> float:
    """Days since Excel's epoch, to the second (the display format shows seconds, as the csv does)."""
    delta = value - _EXCEL_EPOCH
    return delta.days + delta.seconds / 86400
