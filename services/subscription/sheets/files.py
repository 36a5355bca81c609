"""Writing spreadsheets for download: CSV text and one-sheet XLSX files, built row by row.

Every text cell goes through `contracts.spreadsheet.neutralise`, so a spreadsheet program shows
it instead of running it as a formula; the importer takes the quote off again. XLSX cells also
lose the control characters XML 1.0 cannot hold (openpyxl refuses them), which no form accepts
on purpose.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import suppress
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from contracts.spreadsheet import neutralise

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel reads a CSV file as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff".encode()
CHUNK_BYTES = 256 * 1024
HEADER_FONT = Font(bold=True)

Row = Sequence[str | None]
# Most cells cannot hold a formula: without a separator one starts only at the cell's start
# (behind quotes). These are contracts.spreadsheet's characters, so that such cells skip the
# regular expression (tests/integration/test_export_formats.py checks it against `neutralise`).
_FORMULA_OR_QUOTE = frozenset("=+-@\t\r'")
_SEPARATOR = re.compile("[,;\t|\n\r]")


def cell_text(value: str | None) -> str | None:
    """A text cell as exported: never run as a formula."""
    if value is None:
        return None
    if value[:1] not in _FORMULA_OR_QUOTE and _SEPARATOR.search(value) is None:
        return value
    return neutralise(value)


def csv_bytes(rows: Iterable[Row]) -> bytes:
    """Rows as CSV lines, every field quoted (RFC 4180, CRLF), UTF-8.

    Quoted, a field's separators and line breaks stay inside it whatever separator the program
    opening the file expects.
    """
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerows([cell_text(v) for v in row] for row in rows)
    return out.getvalue().encode()


def attachment(filename: str) -> dict[str, str]:
    """Headers telling a browser to save the body under `filename` (plain ASCII names only)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


class SheetFile:
    """A workbook whose first sheet is written row by row (openpyxl write-only: rows go to a
    temporary file as they come, so memory stays flat however many there are).

    Methods are blocking: call them in a worker thread, one at a time.
    """

    def __init__(self, title: str, headers: Sequence[str]) -> None:
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title)
        self.sheet.freeze_panes = "A2"
        self.sheet.append([self._header(h) for h in headers])

    def _header(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value=cell_text(_xml_safe(text)))
        cell.font = HEADER_FONT
        return cell

    def append(self, rows: Iterable[Row]) -> None:
        """Add rows; text is neutralised and made safe for XML."""
        for row in rows:
            self.sheet.append([None if v is None else cell_text(_xml_safe(v)) for v in row])

    def save(self) -> IO[bytes]:
        """The finished workbook as an anonymous temporary file, positioned at its start.

        The file has no name on disk, so it is gone once closed, even if nobody reads it.
        """
        out = tempfile.TemporaryFile()
        try:
            self.workbook.save(out)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return out

    def discard(self) -> None:
        """Drop a workbook that will not be saved, with the row file openpyxl keeps on disk
        until the process exits otherwise (openpyxl has no public call for this)."""
        writer: Any = getattr(self.sheet, "_writer", None)
        if writer is not None:
            with suppress(Exception):
                self.sheet.close()
            with suppress(Exception):
                writer.cleanup()


async def file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    """The file's bytes in chunks, read in a worker thread; the file is closed at the end."""
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


def file_size(file: IO[bytes]) -> int:
    """Size of an open file positioned at its start."""
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    return size


def _xml_safe(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)
