"""The XML of each part of the xlsx package, as templates filled from plain values.

The package (package.py) decides which parts go into the zip and when; this module only says what
each one holds. STYLE_* are the indexes of styles.xml's cellXfs that cells refer to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crowdexports.exports.types.base import OutputColumn
from crowdexports.exports.writers.xlsx.cells import (
    DATETIME_FORMAT,
    attribute,
    column_letters,
    escape_markup,
    money_format,
    text_element,
)

STYLE_HEADER, STYLE_MONEY, STYLE_DATETIME = 1, 2, 3  # indexes into _STYLES' cellXfs
TAIL_ROOM = 256  # bytes kept free in a sheet for sheet_tail()

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_SHEET_TAIL = ('</sheetData><autoFilter ref="{filter}"/>'
               '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')
ROOT_RELS = (
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


def core(created: datetime) -> str:
    """docProps/core.xml: the creator, and `created` (UTC) as creation and modification time."""
    return _CORE.format(now=created.strftime("%Y-%m-%dT%H:%M:%SZ"))


def styles(currency: str) -> str:
    """xl/styles.xml: the header's bold font, the money format of `currency` and the date format."""
    return _STYLES.format(money=attribute(money_format(currency)), datetime=attribute(DATETIME_FORMAT))


def sheet_head(columns: Sequence[OutputColumn], widths: Sequence[float]) -> str:
    """A sheet's XML before the data rows, header row included; `{selected}` is left to fill per sheet."""
    cols = "".join(f'<col min="{i}" max="{i}" width="{_excel_width(width)!r}" customWidth="1"/>'
                   for i, width in enumerate(widths, 1))
    header = "".join(f'<c r="{column_letters(i)}1" s="{STYLE_HEADER}" t="inlineStr"><is>'
                     f"{text_element(column.header)}</is></c>" for i, column in enumerate(columns))
    head = (_XML_DECLARATION + f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL}"><sheetViews>'
            '<sheetView tabSelected="{selected}" workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
            f'<sheetData><row r="1">{header}</row>')
    return head.replace("{", "{{").replace("}", "}}").replace("{{selected}}", "{selected}")


def sheet_tail(filter_range: str) -> str:
    """A sheet's XML after the data rows, with the header's autofilter over `filter_range` (`A1:AN301`)."""
    return _SHEET_TAIL.format(filter=filter_range)


def workbook(sheets: Sequence[tuple[str, str]]) -> str:
    """xl/workbook.xml for (sheet name, absolute autofilter range) pairs, in order."""
    listed = "".join(f'<sheet name="{attribute(name)}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, (name, _) in enumerate(sheets, 1))
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape_markup(_quoted_sheet(name))}!{ref}</definedName>"
        for i, (name, ref) in enumerate(sheets))
    return _WORKBOOK.format(sheets=listed, names=names)


def workbook_rels(sheet_count: int) -> str:
    """xl/_rels/workbook.xml.rels: sheet N is rIdN, the styles come after them."""
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, sheet_count + 1))
    styles_id = sheet_count + 1
    return _WORKBOOK_RELS.format(
        sheets=rels, styles=f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/>')


def app(sheet_names: Sequence[str]) -> str:
    """docProps/app.xml: the application and the sheets' titles."""
    titles = "".join(f"<vt:lpstr>{escape_markup(name)}</vt:lpstr>" for name in sheet_names)
    return _APP.format(count=len(sheet_names), titles=titles)


def content_types(sheet_count: int) -> str:
    """[Content_Types].xml: the fixed parts' types, and one override per sheet."""
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SML}.worksheet+xml"/>'
                        for i in range(1, sheet_count + 1))
    return _CONTENT_TYPES.format(sheets=overrides)


def _excel_width(characters: float) -> float:
    """Excel's stored width for a column shown `characters` digits wide (Calibri 11: 7 px a digit, 5 px padding)."""
    pixels = int(characters * 7 + 0.5) + 5
    return (pixels * 256 // 7) / 256


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"
