"""xlsx written as a stream: each sheet's XML goes straight into the zip, no cell objects, fast deflate.

Why not a library: XlsxWriter (constant_memory) spends about four times as long per row as this
module, measured by `make bench`; tests/files/reference_xlsx.py keeps it as the reference, and tests
prove this writer's files read back the same in openpyxl, python-calamine and LibreOffice.

Cells: INTEGER and MONEY are number cells (money with a format showing the currency's decimals and
code), but an integer of more than 15 digits (|n| >= EXACT_INTEGER_LIMIT) is an inline string of its
digits: Excel keeps 15 significant digits, so a 19-digit id would change. DATETIME are date cells (to
the second, as the csv), TEXT and IDENTIFIER are always inline string cells, so a postal code keeps
its leading zeros and `=1+1` can never become a formula: xlsx keeps the exact text, without the csv's
`'` prefix. None and empty text are empty cells.

Excel's limits are handled, never silently: text over 32,767 UTF-16 units is cut and ends with
TRUNCATION_MARKER; characters XML cannot hold are dropped (`cells.clean_text`); past `rows_per_sheet`
data rows, or before a sheet's XML would need Zip64 (4 GiB), the file continues on a new sheet with
the same header. The header row is bold, frozen and filtered; columns are sized from the first rows.

Speed: rows are rendered in batches by a function generated once per export from the columns (see
`_RowRenderer`): one f-string per row, no call per cell. A row's texts are checked and escaped
together with a few C string methods; a row that needs more care (markup characters are fine,
control characters, leading spaces, `_xHHHH_` look-alikes or very long text are not) is rendered
through `text_element`, the one careful path. Deflate runs in a second thread (zlib releases the GIL)
while the next batch is rendered.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from crowdexports.exports.filenames import sheet_title
from crowdexports.exports.options import NoOptions, Options, parse_no_options
from crowdexports.exports.types.base import ColumnKind, OutputColumn
from crowdexports.exports.writers.base import SheetInfo
from crowdexports.exports.writers.cells import clean_text, cut_utf16
from crowdexports.money import exponent

MAX_DATA_ROWS_PER_SHEET = 1_048_575  # Excel's 1,048,576 rows, less the header row
MAX_CELL_LENGTH = 32_767  # UTF-16 code units
MAX_SHEET_XML_BYTES = 2**32 - 1  # a zip entry past this needs Zip64, which not every reader takes
TRUNCATION_MARKER = "… [truncated]"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
WIDTH_SAMPLE_ROWS = 100  # rows read ahead to size the columns
MIN_WIDTH, MAX_WIDTH = 8, 50
BATCH_ROWS = 500  # rows rendered, then deflated, together
COMPRESS_LEVEL = 1  # zlib: level 1 is ~4x faster than the default 6, for a file ~15% larger
EXACT_INTEGER_LIMIT = 10**15  # Excel keeps 15 significant digits: integers from here on are written as text

_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 0, for dates from 1900-03-01 (Excel's 1900 leap bug)
_FIRST_SERIAL_DATE = datetime(1900, 3, 1)
_SEP = "\ufffc"  # joins a row's texts for the batch checks; printable, so isprintable() still works
_STYLE_HEADER, _STYLE_MONEY, _STYLE_DATETIME = 1, 2, 3  # indexes into styles.xml's cellXfs
_OOXML_ESCAPE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")  # lookahead: in `_x005F_x0041_` both underscores start one
# Text written as it is, markup escaped: no control or non-character (isprintable), no `_x` that could
# read as an escape, short enough that no cut is needed, no leading or trailing space to preserve.
_PLAIN_TEXT = ("{0}.isprintable() and '_x' not in {0} and len({0}) <= FAST_TEXT_LENGTH "
               "and {0}[:1] != ' ' and {0}[-1:] != ' '")
_XML_SPACE = " \t\n\r"


class XlsxWriter:
    format = "xlsx"
    extension = "xlsx"
    mime_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, rows_per_sheet: int = MAX_DATA_ROWS_PER_SHEET,
                 max_sheet_bytes: int = MAX_SHEET_XML_BYTES) -> None:
        if not 1 <= rows_per_sheet <= MAX_DATA_ROWS_PER_SHEET:
            raise ValueError(f"rows_per_sheet must be between 1 and {MAX_DATA_ROWS_PER_SHEET}")
        self.rows_per_sheet = rows_per_sheet
        self.max_sheet_bytes = max_sheet_bytes

    def parse_options(self, raw: object) -> NoOptions:
        """xlsx has no options."""
        return parse_no_options(raw)

    def write(self, path: Path, columns: Sequence[OutputColumn], rows: Iterable[Sequence[object]],
              info: SheetInfo, options: Options | None = None) -> int:
        rows = iter(rows)
        head = list(islice(rows, WIDTH_SAMPLE_ROWS))
        widths = [column_width(column.kind, column.header, (row[i] for row in head))
                  for i, column in enumerate(columns)]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-deflate") as deflater:
            package = _Package(archive, deflater, info)
            count = package.write_sheets(columns, widths, chain(head, rows), self.rows_per_sheet,
                                         self.max_sheet_bytes)
            package.finish()
        return count


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


def column_width(kind: ColumnKind, header: str, sample: Iterable[object]) -> float:
    """A column width from the header and the first rows' values, within [MIN_WIDTH, MAX_WIDTH]."""
    longest = max([len(header), *(_shown_length(kind, value) for value in sample if value is not None)])
    return min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))


def _shown_length(kind: ColumnKind, value: object) -> int:
    if kind is ColumnKind.DATETIME:
        return len(DATETIME_FORMAT)
    longest_line = max(map(len, str(value).splitlines()), default=0)
    return longest_line + (4 if kind is ColumnKind.MONEY else 0)  # room for the " EUR" suffix


def text_element(text: str) -> str:
    """The `<t>` element of an inline string cell, or "" when nothing of `text` can be written.

    Excel's own escapes: a carriage return becomes `_x000D_` (XML would turn it into a line feed),
    and a literal `_xHHHH_` gets its underscore escaped so that readers do not decode it.
    """
    text = fit_cell_text(text)
    if not text:
        return ""
    escaped = _escape_markup(_OOXML_ESCAPE.sub("_x005F_", text)).replace("\r", "_x000D_")
    if text[0] in _XML_SPACE or text[-1] in _XML_SPACE:
        return f'<t xml:space="preserve">{escaped}</t>'
    return f"<t>{escaped}</t>"


def excel_serial(value: datetime) -> float:
    """Days since Excel's epoch, to the second (the display format shows seconds, as the csv does)."""
    delta = value - _EXCEL_EPOCH
    return delta.days + delta.seconds / 86400


def column_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _escape_markup(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(text: str) -> str:
    return _escape_markup(text).replace('"', "&quot;")


def _datetime_cell(ref: str, value: datetime) -> str:
    """A date cell; a date Excel's serials cannot show (before 1900-03-01) is written as its text."""
    if value.tzinfo is not None:  # the contract says naive local time; never write a shifted value
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value < _FIRST_SERIAL_DATE:
        return f'<c r="{ref}" t="inlineStr"><is>{text_element(value.isoformat(" ", "seconds"))}</is></c>'
    return f'<c r="{ref}" s="{_STYLE_DATETIME}"><v>{excel_serial(value)!r}</v></c>'


class _RowRenderer:
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
                                     "escape_markup": _escape_markup, "text_element": text_element,
                                     "datetime_cell": _datetime_cell}
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
            return f"{{'' if {value} is None else f'<c r=\"{ref}\" s=\"{_STYLE_MONEY}\"><v>{{{value}!s}}</v></c>'}}"
        if kind is ColumnKind.DATETIME:
            return f"{{'' if {value} is None else datetime_cell(f'{ref}', {value})}}"
        text = f"e{index}"
        if fast:  # e<index> is the escaped text, written when the value is not empty
            return f"{{f'<c r=\"{ref}\" t=\"inlineStr\"><is><t>{{{text}}}</t></is></c>' if {value} else ''}}"
        # e<index> is the whole <t> element, or "" when nothing is left to write
        return f"{{f'<c r=\"{ref}\" t=\"inlineStr\"><is>{{{text}}}</is></c>' if {text} else ''}}"


class _Package:
    """The zip being written: fixed parts first, then the sheets, then the parts that list the sheets.

    Entry order matters to one kind of reader: file-type sniffers (libmagic's `file`, mail
    scanners) recognise an xlsx by a first entry `_rels/.rels` and a third under `xl/`.
    """

    def __init__(self, archive: zipfile.ZipFile, deflater: ThreadPoolExecutor, info: SheetInfo) -> None:
        self.archive = archive
        self.deflater = deflater
        self.title = info.title
        self.sheets: list[tuple[str, str]] = []  # (name, autofilter range)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("docProps/core.xml", _CORE.format(now=now))
        archive.writestr("xl/styles.xml", _STYLES.format(money=_attribute(money_format(info.currency)),
                                                         datetime=_attribute(DATETIME_FORMAT)))

    def write_sheets(self, columns: Sequence[OutputColumn], widths: Sequence[float],
                     rows: Iterator[Sequence[object]], rows_per_sheet: int, max_sheet_bytes: int) -> int:
        """Every row, on as many sheets as the limits require (the first even without rows); the row count."""
        render = _RowRenderer(columns).render
        head = _sheet_head(columns, widths)
        last_column = column_letters(len(columns) - 1)
        count, batch = 0, list(islice(rows, BATCH_ROWS))
        while True:
            number = len(self.sheets) + 1
            sheet_rows = 0
            with self.archive.open(f"xl/worksheets/sheet{number}.xml", "w") as entry:
                try:
                    size = self._write(entry, head.format(selected=int(number == 1)).encode())
                    while batch and sheet_rows < rows_per_sheet:
                        taken = batch[:rows_per_sheet - sheet_rows]
                        data = render(taken, sheet_rows + 2).encode()
                        if sheet_rows and size + len(data) + _TAIL_ROOM > max_sheet_bytes:
                            break  # these rows start the next sheet, rendered again with its row numbers
                        size += self._write(entry, data)
                        sheet_rows += len(taken)
                        batch = batch[len(taken):] or list(islice(rows, BATCH_ROWS))
                    last_row = max(sheet_rows, 1) + 1
                    self._write(entry, _SHEET_TAIL.format(filter=f"A1:{last_column}{last_row}").encode())
                finally:
                    self._drain()  # the deflate thread must be done with `entry` before it closes
            count += sheet_rows
            self.sheets.append((sheet_title(self.title, f" ({number})" if number > 1 else ""),
                                f"$A$1:${last_column}${last_row}"))
            if not batch:
                return count

    def finish(self) -> None:
        sheets = "".join(f'<sheet name="{_attribute(name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, (name, _) in enumerate(self.sheets, 1))
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{_escape_markup(_quoted_sheet(name))}!{ref}</definedName>"
            for i, (name, ref) in enumerate(self.sheets))
        rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, len(self.sheets) + 1))
        styles_id = len(self.sheets) + 1
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SML}.worksheet+xml"/>'
                            for i in range(1, len(self.sheets) + 1))
        titles = "".join(f"<vt:lpstr>{_escape_markup(name)}</vt:lpstr>" for name, _ in self.sheets)
        self.archive.writestr("xl/workbook.xml", _WORKBOOK.format(sheets=sheets, names=names))
        self.archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.format(
            sheets=rels, styles=f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/>'))
        self.archive.writestr("docProps/app.xml", _APP.format(count=len(self.sheets), titles=titles))
        self.archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sheets=overrides))

    _pending: Future[int] | None = None

    def _write(self, entry: IO[bytes], data: bytes) -> int:
        """Hands `data` to the deflate thread, after the previous chunk is done (at most two in memory)."""
        self._drain()
        self._pending = self.deflater.submit(entry.write, data)
        return len(data)

    def _drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises a failed write here, in the exporting thread


def _sheet_head(columns: Sequence[OutputColumn], widths: Sequence[float]) -> str:
    """The XML before the data rows, header row included; `{selected}` is left to fill per sheet."""
    cols = "".join(f'<col min="{i}" max="{i}" width="{_excel_width(width)!r}" customWidth="1"/>'
                   for i, width in enumerate(widths, 1))
    header = "".join(f'<c r="{column_letters(i)}1" s="{_STYLE_HEADER}" t="inlineStr"><is>'
                     f"{text_element(column.header)}</is></c>" for i, column in enumerate(columns))
    head = (_XML_DECLARATION + f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL}"><sheetViews>'
            '<sheetView tabSelected="{selected}" workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
            f'<sheetData><row r="1">{header}</row>')
    return head.replace("{", "{{").replace("}", "}}").replace("{{selected}}", "{selected}")


def _excel_width(characters: float) -> float:
    """Excel's stored width for a column shown `characters` digits wide (Calibri 11: 7 px a digit, 5 px padding)."""
    pixels = int(characters * 7 + 0.5) + 5
    return (pixels * 256 // 7) / 256


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_TAIL_ROOM = 256  # bytes kept free in a sheet for _SHEET_TAIL
_SHEET_TAIL = ('</sheetData><autoFilter ref="{filter}"/>'
               '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')
_ROOT_RELS = (
    _XML_DECLARATION + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/></Relationships>')
_CORE = (
    _XML_DECLARATION + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>crowdexports</dc:creator>'
    '<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>')
_APP = (
    _XML_DECLARATION + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<Application>crowdexports</Application><HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant>'
    '<vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>{count}</vt:i4></vt:variant></vt:vector>'
    '</HeadingPairs><TitlesOfParts><vt:vector size="{count}" baseType="lpstr">{titles}</vt:vector></TitlesOfParts>'
    '</Properties>')
_FONT = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
_STYLES = (
    _XML_DECLARATION + f'<styleSheet xmlns="{_MAIN_NS}"><numFmts count="2">'
    '<numFmt numFmtId="164" formatCode="{money}"/><numFmt numFmtId="165" formatCode="{datetime}"/></numFmts>'
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_WORKBOOK = (
    _XML_DECLARATION + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
    '<sheets>{sheets}</sheets><definedNames>{names}</definedNames></workbook>')
_WORKBOOK_RELS = (
    _XML_DECLARATION + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '{sheets}{styles}</Relationships>')
_CONTENT_TYPES = (
    _XML_DECLARATION + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_SML}.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>{sheets}</Types>')
