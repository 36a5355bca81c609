"""Spreadsheets made in the tests: ordinary ones through openpyxl, hostile ones by hand."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

from contracts.spreadsheet import COLUMNS

HEADERS = list(COLUMNS)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def xlsx(
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "Subscriptions",
    before: Sequence[str] = (),
    merges: Sequence[str] = (),
) -> bytes:
    """A workbook as a spreadsheet program saves it: sheets `before` first, then the data."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    for index, name in enumerate(before):
        sheet = wb.create_sheet(name, index)
        sheet.append(["Nothing to import here"])
    first.title = title
    for row in rows:
        first.append(list(row))
    for ref in merges:
        first.merge_cells(ref)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number: int, *cells: str) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def header_row() -> str:
    letters = "ABCDEFGH"
    return row(1, *(cell(f"{letters[i]}1", h) for i, h in enumerate(HEADERS)))


def package(
    sheet_xml: str,
    *,
    prologue: str = "",
    shared: Sequence[str] | None = None,
    extra: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A minimal .xlsx package around one hand-written `<worksheet>` body."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="r1"'
            f' Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="Subscriptions" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}">'
            f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0"?>{prologue}<worksheet xmlns="{MAIN}">{sheet_xml}</worksheet>'
        ),
    }
    if shared is not None:
        items = "".join(f"<si><t>{s}</t></si>" for s in shared)
        parts["xl/sharedStrings.xml"] = f'<?xml version="1.0"?><sst xmlns="{MAIN}">{items}</sst>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()


def declared_smaller(data: bytes, part: str, declared: int) -> bytes:
    """The package with one entry's uncompressed size understated in its zip headers."""
    z = zipfile.ZipFile(io.BytesIO(data))
    info = z.getinfo(part)
    patched = bytearray(data)
    size = declared.to_bytes(4, "little")
    # Local header: uncompressed size at offset 22; central directory entry: at offset 24.
    patched[info.header_offset + 22 : info.header_offset + 26] = size
    central = z.start_dir
    for _ in z.infolist():
        name_length = int.from_bytes(data[central + 28 : central + 30], "little")
        extra = int.from_bytes(data[central + 30 : central + 32], "little")
        comment = int.from_bytes(data[central + 32 : central + 34], "little")
        if data[central + 46 : central + 46 + name_length].decode() == part:
            patched[central + 24 : central + 28] = size
        central += 46 + name_length + extra + comment
    return bytes(patched)
