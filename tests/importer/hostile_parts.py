"""A small workbook written part by part, for tests that garble its parts one at a time.

Unlike `workbooks.package`, it has every part the reader parses (relationships, the workbook,
styles with a date format, shared strings with rich text and a phonetic guide) and a sheet
with every kind of cell, so that a mutation can land anywhere the reader looks.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from tests.importer.workbooks import HEADERS, MAIN, PACKAGE_RELS, RELS

SHEET = "xl/worksheets/sheet1.xml"
SHARED = "xl/sharedStrings.xml"
STYLES = "xl/styles.xml"
WORKBOOK = "xl/workbook.xml"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
VALUES = ["Fibre home", "Ada Lovelace", "Active", "Grace Hopper"]
# Shared strings: the headers, then VALUES, then one rich text with a phonetic guide.
FIRST_VALUE = len(HEADERS)
RICH = FIRST_VALUE + len(VALUES)


def shared(index: int, ref: str) -> str:
    """A cell showing shared string `index`."""
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def number(ref: str, raw: str, style: int | None = None) -> str:
    """A number cell as stored, optionally in a cell style (1 and 2 are dates)."""
    s = f' s="{style}"' if style is not None else ""
    return f'<c r="{ref}"{s}><v>{raw}</v></c>'


def header_cells() -> list[str]:
    return [shared(i, f"{'ABCDEFGH'[i]}1") for i in range(len(HEADERS))]


def sheet_xml(rows: str, tail: str = "") -> str:
    return f'{DECLARATION}<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData>{tail}</worksheet>'


def shared_xml(strings: list[str]) -> str:
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return f'{DECLARATION}<sst xmlns="{MAIN}" count="{len(strings)}">{items}</sst>'


def seed_parts() -> dict[str, str]:
    """Every part of the small workbook, by name."""
    strings = [*HEADERS, *VALUES]
    rich = (
        '<si><r><rPr><b/></rPr><t xml:space="preserve">Rich </t></r><r><t>text</t></r>'
        '<rPh sb="0" eb="1"><t>ルビ</t></rPh></si>'
    )
    shared_part = shared_xml(strings).replace("</sst>", f"{rich}</sst>")
    rows = (
        f'<row r="1">{"".join(header_cells())}</row>'
        f'<row r="2">{shared(FIRST_VALUE, "B2")}{shared(FIRST_VALUE + 1, "C2")}'
        f"{shared(FIRST_VALUE + 2, 'E2')}{shared(FIRST_VALUE + 3, 'F2')}"
        f"{number('G2', '42.0')}{shared(RICH, 'H2')}</row>"
        f'<row r="3"><c r="A3" t="inlineStr"><is><t>SUB-1</t></is></c>'
        f'{number("B3", "45292", 1)}<c r="C3" t="str"><f>"A"&amp;"B"</f><v>AB</v></c>'
        f'<c r="D3"><f>1/0</f></c><c r="E3" t="e"><v>#N/A</v></c><c r="F3" t="b"><v>1</v></c>'
        f'<c r="G3" t="d"><v>2024-01-02T10:00:00</v></c>{number("H3", "1.5E-3", 2)}</row>'
        f'<row r="4" spans="1:8"><c r="A4" t="s"><v>{RICH}</v></c>{number("B4", "-12.50")}</row>'
    )
    return {
        "[Content_Types].xml": (
            f'{DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{DECLARATION}<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="r1"'
            f' Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        WORKBOOK: (
            f'{DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><workbookPr date1904="0"/>'
            '<sheets><sheet name="Subscriptions" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{DECLARATION}<Relationships xmlns="{PACKAGE_RELS}">'
            f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{RELS}/styles" Target="/xl/styles.xml"/>'
            "</Relationships>"
        ),
        STYLES: (
            f'{DECLARATION}<styleSheet xmlns="{MAIN}"><numFmts count="1">'
            '<numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
            '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="3">'
            '<xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="21"/></cellXfs></styleSheet>'
        ),
        SHARED: shared_part,
        SHEET: sheet_xml(rows, '<mergeCells count="1"><mergeCell ref="A10:B11"/></mergeCells>'),
    }


def zipped(parts: Mapping[str, str | bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The parts as a zip package."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return out.getvalue()


def with_parts(**replaced: str | bytes) -> bytes:
    """The seed workbook with some parts replaced, named by keyword: sheet, shared, styles..."""
    names = {"sheet": SHEET, "shared": SHARED, "styles": STYLES, "workbook": WORKBOOK}
    parts: dict[str, str | bytes] = dict(seed_parts())
    for key, content in replaced.items():
        parts[names[key]] = content
    return zipped(parts)
