"""The import template: a `Subscriptions` sheet with the columns the importer always reads, and
an `Instructions` sheet saying what each column takes.

Required headers are bold on a yellow fill and carry a note; the header text itself stays the
plain column name, so the template re-uploads as it is.
"""

from __future__ import annotations

import io
from functools import lru_cache

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from contracts import spreadsheet as columns
from contracts.spreadsheet import COLUMNS, REQUIRED, SHEET_NAME, STATUSES

INSTRUCTIONS = "Instructions"
# Rows of the sheet offered the Status drop-down (Excel keeps ranges, not whole columns, cheap).
VALIDATED_ROWS = 100_000

REFERENCE = "the ID, the email or the exact name of one of yours (names must be unambiguous)"
EXPLAINED = {
    columns.UNIQUE_ID: (
        "Optional. Leave blank to get the next ID (SUB-000042). A value is kept as it is and "
        "must not be used by another subscription; SUB-<n> moves the numbering past n."
    ),
    columns.NAME: "Required. The subscription's name, up to 200 characters.",
    columns.CONTACT: f"Required. The customer contact: {REFERENCE}. Register contacts first.",
    columns.ORGANIZATION: f"Optional. The organization: {REFERENCE}.",
    columns.STATUS: f"Required. One of {', '.join(STATUSES)} (any case).",
    columns.ENGINEER: f"Required. The assigned engineer: {REFERENCE}.",
    columns.SERVICE_CONTRACT: (
        "Optional. A service contract registered beforehand: its ID, number or title."
    ),
    columns.DESCRIPTION: "Optional. Free text, up to 5000 characters.",
}
GENERAL = (
    "Fill one subscription per row of the Subscriptions sheet, from row 2; row 1 holds the "
    "headers. Required columns are bold on yellow.",
    "Headers match whatever their case, spacing or order; other columns are ignored. "
    "Blank rows are skipped.",
    "Type values as text: formulas are read by their stored value and whole numbers as shown "
    "(42, never 42.0); a date where text is expected is reported as an error of its row.",
    "Upload with POST /api/v1/imports (field `file`, optional `dry_run=true` to check only). "
    "Rows with errors are listed by row number and column, and GET "
    "/api/v1/imports/{id}/errors.xlsx returns them to fix and upload again.",
    "Uploading the same rows again creates nothing twice: they count as skipped.",
)
REQUIRED_FILL = PatternFill("solid", start_color="FFF2CC")
BOLD = Font(bold=True)


@lru_cache(maxsize=4)
def template(max_upload_bytes: int) -> bytes:
    """The template workbook's bytes (built once per process and upload limit)."""
    workbook = Workbook()
    data = workbook.active
    assert isinstance(data, Worksheet)
    data.title = SHEET_NAME
    _data_sheet(data)
    _instructions(workbook.create_sheet(INSTRUCTIONS), max_upload_bytes)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _data_sheet(sheet: Worksheet) -> None:
    for index, header in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=header)
        sheet.column_dimensions[get_column_letter(index)].width = max(16, len(header) + 4)
        if header in REQUIRED:
            cell.font = BOLD
            cell.fill = REQUIRED_FILL
            cell.comment = Comment(f"Required. {EXPLAINED[header]}", "WISPGate")
    sheet.freeze_panes = "A2"
    status = get_column_letter(COLUMNS.index(columns.STATUS) + 1)
    choice = DataValidation(
        type="list",
        formula1=f'"{",".join(STATUSES)}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Status",
        error=f"Choose one of {', '.join(STATUSES)}",
    )
    choice.add(f"{status}2:{status}{VALIDATED_ROWS + 1}")
    sheet.add_data_validation(choice)


def _instructions(sheet: Worksheet, max_upload_bytes: int) -> None:
    sheet.append(["Column", "Required", "What it takes"])
    for cell in sheet[1]:
        cell.font = BOLD
    for header in COLUMNS:
        sheet.append([header, "yes" if header in REQUIRED else "no", EXPLAINED[header]])
    sheet.append([])
    sheet.append(["Allowed statuses"])
    sheet.cell(row=sheet.max_row, column=1).font = BOLD
    for status in STATUSES:
        sheet.append([status])
    sheet.append([])
    sheet.append(["How it works"])
    sheet.cell(row=sheet.max_row, column=1).font = BOLD
    for line in (*GENERAL, f"Files up to {max_upload_bytes // (1024 * 1024)} MiB."):
        sheet.append([line])
    sheet.column_dimensions["A"].width = 20
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 100
    for row in sheet.iter_rows(min_row=2, max_col=3):
        row[-1].alignment = Alignment(wrap_text=True, vertical="top")
