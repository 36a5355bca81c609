"""The zip package of an .xlsx file: is it one, and how much may it unpack to.

A zip bomb is caught twice before any XML is parsed: by the sizes the central directory declares
(their total, and each entry's ratio of unpacked to packed size), then by unpacking the parts
that will be parsed while counting their bytes, stopping as soon as an entry unpacks past what it
declared. Every later read counts again, so no read can run past the declared sizes either.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Encrypted (password-protected) .xlsx files and old .xls files are OLE2 compound documents.
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CHUNK_BYTES = 64 * 1024
MAX_ENTRIES = 10_000
# Small parts (styles, an empty sheet) legitimately pack very well: only larger ones are judged.
RATIO_FLOOR_BYTES = 1 << 20
_ENCRYPTED_FLAG = 0x1
# Spreadsheet programs store or deflate; bzip2 and LZMA (which allocates a dictionary of the
# size its entry asks for) are refused before anything is unpacked.
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What reading a damaged zip directory or unpacking a damaged entry raises.
_DAMAGED_ENTRY = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    OSError,
    ValueError,
)

SAVE_AS_XLSX = "save the spreadsheet as an Excel Workbook (.xlsx) and upload it again"


class Refused(Exception):
    """The file cannot be imported; the message tells the person who uploaded it why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What an upload may cost. The defaults of the first four are the settings' (config.py)."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_unpacked_bytes: int = 256 * 1024 * 1024
    max_ratio: int = 100
    max_rows: int = 100_000
    # Text, which shared strings multiply: one string in the file may fill every cell of a
    # sheet, and a failed row keeps its cells. Excel's own limit for one cell; a row far longer
    # than a subscription needs; the text one reading of the sheet hands out; the workbook's
    # shared-string table, held in memory while the sheet is read.
    max_cell_chars: int = 32_767
    max_row_chars: int = 65_536
    max_text_chars: int = 64 * 1024 * 1024
    max_shared_strings: int = 2_000_000
    max_shared_chars: int = 64 * 1024 * 1024


def size_text(n: int) -> str:
    """A byte count as people read it: `20 MiB`, `1.5 GiB`, `900 bytes`."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            shown = f"{value:.1f}".removesuffix(".0") if unit != "bytes" else f"{n:,}"
            return f"{shown} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class Package:
    """An uploaded file checked to be a zip package within the limits."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.limits = limits
        _check_kind(data, limits)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            entries = self._zip.infolist()
        except _DAMAGED_ENTRY:
            raise Refused(f"This file is not an .xlsx workbook: {SAVE_AS_XLSX}.") from None
        self._entries = {e.filename: e for e in _checked_entries(entries, limits)}

    def has(self, name: str) -> bool:
        """Whether the package holds a part of this name."""
        return name in self._entries

    def verify(self, names: Iterable[str]) -> None:
        """Unpack these parts once, counting, before anything parses them."""
        for name in names:
            for _ in self.chunks(name):
                pass

    def read(self, name: str) -> bytes:
        """A whole (small) part."""
        return b"".join(self.chunks(name))

    def chunks(self, name: str) -> Iterator[bytes]:
        """A part's unpacked bytes, stopping past the size its entry declares."""
        entry = self._entries[name]
        unpacked = 0
        try:
            with self._zip.open(entry) as stream:
                while chunk := stream.read(CHUNK_BYTES):
                    unpacked += len(chunk)
                    if unpacked > entry.file_size:
                        raise Refused(
                            f"{name} unpacks to more than the {size_text(entry.file_size)} its"
                            " zip entry declares: the file is damaged or a zip bomb."
                        )
                    yield chunk
        except _DAMAGED_ENTRY as exc:
            raise Refused(f"The file is damaged ({name}: {exc}): {SAVE_AS_XLSX}.") from None


def _check_kind(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_file_bytes:
        raise Refused(
            f"The file is {size_text(len(data))}, more than the"
            f" {size_text(limits.max_file_bytes)} allowed: split it into several files."
        )
    if data.startswith(OLE2_SIGNATURE):
        raise Refused(
            "This file is password-protected (encrypted) or an old Excel 97-2003 .xls workbook:"
            f" remove the password, or {SAVE_AS_XLSX}."
        )
    if not data.startswith(b"PK"):
        raise Refused(f"This file is not an .xlsx workbook: {SAVE_AS_XLSX}.")


def _checked_entries(entries: list[zipfile.ZipInfo], limits: Limits) -> list[zipfile.ZipInfo]:
    if len(entries) > MAX_ENTRIES:
        raise Refused(
            f"The zip file holds {len(entries):,} entries, more than the {MAX_ENTRIES:,} an"
            " .xlsx workbook may have here."
        )
    declared = sum(e.file_size for e in entries)
    if declared > limits.max_unpacked_bytes:
        raise Refused(
            f"The file unpacks to {size_text(declared)}, more than the"
            f" {size_text(limits.max_unpacked_bytes)} allowed (it may be a zip bomb):"
            " split it into several files."
        )
    for e in entries:
        if e.flag_bits & _ENCRYPTED_FLAG:
            raise Refused(
                f"The file's zip entries are encrypted: remove the password and {SAVE_AS_XLSX}."
            )
        if e.compress_type not in _METHODS:
            raise Refused(
                f"{e.filename} is compressed in a way spreadsheet programs do not use (zip"
                f" method {e.compress_type}): {SAVE_AS_XLSX}."
            )
        ratio = e.file_size / max(e.compress_size, 1)
        if e.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            raise Refused(
                f"{e.filename} unpacks {ratio:,.0f} times larger than it is packed, more than the"
                f" {limits.max_ratio} times allowed: it looks like a zip bomb."
            )
    return entries
