"""One cell's stored value as the text an import reads, or the reason it cannot be read.

Every column of the import is text. Numbers become the text a spreadsheet shows for them (whole
numbers without `.0`, at most 15 significant digits as Excel keeps); dates and times are not
guessed into text, since the text someone typed ("1-2", "March") is gone once a spreadsheet
turned it into a date: the row is reported instead, with the date it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Context, InvalidOperation

from openpyxl.utils.datetime import from_excel, from_ISO8601

# Excel's own limit for the text of one cell.
MAX_CELL_CHARS = 32_767
_EXCEL_DIGITS = Context(prec=15)
RETYPE = "format the cells as Text and type the value again"


@dataclass(frozen=True, slots=True)
class Problem:
    """A cell that cannot be read as text. `message` follows the column's name in an error;
    `shown` is what the cell showed, kept in the failed row for the error report."""

    message: str
    shown: str | None = None


Value = str | Problem

NO_STORED_VALUE = Problem(
    "is a formula with no stored value: open the file in a spreadsheet program so that it"
    " calculates, save it and upload it again"
)
TOO_LONG = Problem(f"is longer than the {MAX_CELL_CHARS:,} characters a cell may hold")
MISSING_STRING = Problem("refers to a shared string the file does not have (the file is damaged)")


def number_text(raw: str) -> str:
    """A stored number as a spreadsheet shows it in General format: `42`, `12.5`, never `42.0`."""
    try:
        number = _EXCEL_DIGITS.create_decimal(raw.strip())
    except InvalidOperation:
        return raw
    if not number.is_finite():
        return raw
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def serial_date(raw: str, epoch: datetime) -> Problem:
    """A number stored in a date or time format: reported with the date it shows."""
    try:
        moment = from_excel(float(raw), epoch)
    except (ValueError, OverflowError):
        return Problem(f"holds a date out of range ({raw}); {RETYPE}", raw)
    return _date_problem(moment)


def iso_date(raw: str) -> Problem:
    """A cell of the rare ISO 8601 date type (`t="d"`)."""
    try:
        moment = from_ISO8601(raw)
    except ValueError:
        return Problem(f"holds a date that cannot be read ({raw}); {RETYPE}", raw)
    return _date_problem(moment)


def error_value(code: str) -> Problem:
    """A cell showing a spreadsheet error such as #N/A or #DIV/0!."""
    return Problem(f"holds the error {code}", code)


def _date_problem(moment: datetime | date | time | timedelta | None) -> Problem:
    shown = _date_text(moment)
    return Problem(f"holds a date or time ({shown}) where text is expected: {RETYPE}", shown)


def _date_text(moment: datetime | date | time | timedelta | None) -> str:
    if isinstance(moment, datetime):
        if moment.time() == time(0):
            return moment.date().isoformat()
        return moment.isoformat(sep=" ", timespec="seconds")
    if isinstance(moment, date | time):
        return moment.isoformat()
    return str(moment)
