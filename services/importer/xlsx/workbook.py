"""Opening an upload as a workbook and choosing the sheet to import."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

from contracts.spreadsheet import SHEET_NAME, header_key

from .package import SAVE_AS_XLSX, Limits, Package, Refused
from .parts import date_styles, relationships, shared_strings, workbook_info
from .sheet import SheetRows


@dataclass(frozen=True)
class Workbook:
    """The sheet an import reads: the one named `Subscriptions`, else the first worksheet."""

    sheet_name: str
    rows: SheetRows
    other_sheets: tuple[str, ...]


def open_workbook(data: bytes, limits: Limits) -> Workbook:
    """The upload as a workbook, or Refused with the reason it cannot be one."""
    package = Package(data, limits)
    document = next(
        (r.part for r in relationships(package, "").values() if r.kind == "officeDocument"),
        None,
    )
    if document is None or not package.has(document):
        raise Refused(f"This zip file is not an Excel workbook: {SAVE_AS_XLSX}.")
    info = workbook_info(package, document)
    worksheets = [s for s in info.sheets if s.part is not None]
    if not worksheets:
        raise Refused(f"The workbook has no worksheet: {SAVE_AS_XLSX}.")
    wanted = header_key(SHEET_NAME)
    chosen = next((s for s in worksheets if header_key(s.name) == wanted), worksheets[0])
    assert chosen.part is not None
    rels = relationships(package, document)
    strings = next((r.part for r in rels.values() if r.kind == "sharedStrings"), None)
    styles = next((r.part for r in rels.values() if r.kind == "styles"), None)
    package.verify(p for p in (strings, styles, chosen.part) if p and package.has(p))
    rows = SheetRows(
        package,
        chosen.part,
        shared_strings(package, strings),
        date_styles(package, styles),
        MAC_EPOCH if info.date1904 else WINDOWS_EPOCH,
    )
    others = tuple(s.name for s in info.sheets if s is not chosen)
    return Workbook(chosen.name, rows, others)
