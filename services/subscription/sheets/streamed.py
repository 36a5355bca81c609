"""A one-sheet XLSX file written as a stream: its bytes come out while its rows go in.

The zip is written to a sink that cannot seek (zipfile then puts each entry's sizes in a data
descriptor after its data), and the sheet's XML is built row by row with inline strings, so
nothing grows with the number of rows: neither a shared-string table nor a temporary file.
The first bytes (the small parts and the header row) are ready before any row is read.

Cells get what `files.SheetFile` gives them: text neutralised (`cell_text`), the control
characters XML 1.0 cannot hold removed, the header bold and frozen. Beyond it, U+FFFE and U+FFFF
(also not XML) are removed, and a carriage return is written as `&#13;` so that it survives
the XML parser's line-end normalising.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from openpyxl.utils.cell import get_column_letter

from services.subscription.sheets.files import Row, cell_text

# Level 1 deflates the repetitive sheet XML about as small as level 6 does, for a third of
# the CPU: the export is bounded by CPU, not by bytes.
COMPRESS_LEVEL = 1
SHEET_PART = "xl/worksheets/sheet1.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CONTENT_TYPES = f"""{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/{SHEET_PART}" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
<Override PartName="/docProps/core.xml" \
ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>\
<Override PartName="/docProps/app.xml" \
ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>"""
ROOT_RELS = f"""{XML_HEAD}<Relationships xmlns="{PACKAGE_REL}">\
<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>\
<Relationship Id="rId2" Type="{PACKAGE_REL}/metadata/core-properties" \
Target="docProps/core.xml"/>\
<Relationship Id="rId3" Type="{REL}/extended-properties" Target="docProps/app.xml"/>\
</Relationships>"""
APP = f"""{XML_HEAD}<Properties \
xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">\
<Application>WISPGate</Application></Properties>"""
CORE = f"""{XML_HEAD}<cp:coreProperties \
xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>WISPGate</dc:creator>\
<dcterms:created xsi:type="dcterms:W3CDTF">{{now}}</dcterms:created>\
<dcterms:modified xsi:type="dcterms:W3CDTF">{{now}}</dcterms:modified></cp:coreProperties>"""
WORKBOOK = f"""{XML_HEAD}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><bookViews><workbookView/>\
</bookViews><sheets><sheet name="{{title}}" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = f"""{XML_HEAD}<Relationships xmlns="{PACKAGE_REL}">\
<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/></Relationships>"""
# Style 1 is the header's: bold.
STYLES = f"""{XML_HEAD}<styleSheet xmlns="{MAIN}">\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
# The header row stays in view (frozen below row 1).
SHEET_START = f"""{XML_HEAD}<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetViews>\
<sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" \
state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>\
</sheetViews><sheetData>"""
SHEET_END = "</sheetData></worksheet>"

# What XML 1.0 cannot hold, as openpyxl's ILLEGAL_CHARACTERS_RE, plus U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Most cells are copied as they are: those with no character to remove or escape, no separator
# a formula could follow (contracts.spreadsheet), nor a formula start, quote or space at
# their start, nor a space at their end. One scan of the text tells.
_NOT_PLAIN = re.compile("[\x00-\x1f&<>,;|\ufffe\uffff]")
_NOT_PLAIN_FIRST = frozenset("=+-@'")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


class _Sink(io.RawIOBase):
    """Collects what the zip writer writes; cannot seek, so zipfile streams."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class StreamedSheet:
    """One workbook of one sheet; each call returns the file's next bytes (maybe none).

    `start` first, `rows` any number of times, `finish` once. Blocking but short: a page of
    rows costs milliseconds of CPU.
    """

    def __init__(self, title: str, headers: Sequence[str]) -> None:
        self.title = title
        self.headers = headers
        self.columns = [get_column_letter(n) for n in range(1, len(headers) + 1)]
        self.row_number = 1
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(
            self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        )
        self._sheet: io.BufferedIOBase | None = None

    def start(self) -> bytes:
        """The small parts and the sheet up to its header row."""
        now = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("docProps/app.xml", APP),
            ("docProps/core.xml", CORE.format(now=now)),
            ("xl/workbook.xml", WORKBOOK.format(title=xml_text(self.title))),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
        ):
            self._zip.writestr(name, text)
        self._sheet = self._zip.open(SHEET_PART, "w")  # type: ignore[assignment]
        cells = "".join(
            f'<c r="{column}1" s="1" t="inlineStr"><is>{cell_xml(header)}</is></c>'
            for column, header in zip(self.columns, self.headers, strict=True)
        )
        self._write(f'{SHEET_START}<row r="1">{cells}</row>')
        return self._sink.take()

    def rows(self, rows: Iterable[Row]) -> bytes:
        """Rows after those written so far; text is neutralised and made safe for XML."""
        columns = self.columns
        parts = []
        number = self.row_number
        for row in rows:
            number += 1
            parts.append(f'<row r="{number}">')
            for column, value in zip(columns, row, strict=False):
                if value is not None:
                    parts.append(
                        f'<c r="{column}{number}" t="inlineStr"><is>{cell_xml(value)}</is></c>'
                    )
            parts.append("</row>")
        self.row_number = number
        self._write("".join(parts))
        return self._sink.take()

    def finish(self) -> bytes:
        """The end of the sheet and the zip's central directory."""
        self._write(SHEET_END)
        assert self._sheet is not None
        self._sheet.close()
        self._zip.close()
        return self._sink.take()

    def _write(self, xml: str) -> None:
        assert self._sheet is not None, "start() first"
        self._sheet.write(xml.encode())


def xml_text(text: str) -> str:
    """Text as XML character data: no character XML 1.0 forbids, markup escaped."""
    return _NOT_XML.sub("", text).translate(_ESCAPES)


def cell_xml(text: str) -> str:
    """A text cell's `<t>` element: neutralised, safe for XML, spaces at either end kept."""
    if (
        _NOT_PLAIN.search(text) is None
        and text[:1] not in _NOT_PLAIN_FIRST
        and not text[:1].isspace()
        and not text[-1:].isspace()
    ):
        return f"<t>{text}</t>"
    # As files.SheetFile: what XML cannot hold goes first, so that it hides no formula.
    shown = cell_text(_NOT_XML.sub("", text)) or ""
    space = ' xml:space="preserve"' if shown != shown.strip() else ""
    return f"<t{space}>{shown.translate(_ESCAPES)}</t>"
