"""One cell's stored value as the text an import reads, or the reason it cannot be read.

Every column of the import is text. Numbers become the text a spreadsheet shows for them (whole
numbers without `.0`, at most 15 significant digits as Excel keeps); dates and times are not
guessed into text, since the text someone typed ("1-2", "March") is gone once a spreadsheet
turned it into a date: the row is reported instead, with the date it holds.

A stored number is untrusted text: its length is bounded before it is converted, and it is
written out with `format`, never through `int` (`1e999999` would be a million digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Context, Decimal, DecimalException

from openpyxl.utils.datetime import from_excel, from_ISO8601

# A spreadsheet program writes a number in at most 24 characters (`-2.2250738585072014E-308`).
MAX_NUMBER_CHARS = 64
# Excel holds numbers up to 9.99999999999999E+307, and none smaller than 2.2250738585072E-308.
_LARGEST_EXPONENT = 308
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
MISSING_STRING = Problem("refers to a shared string the file does not have (the file is damaged)")


def too_long(limit: int) -> Problem:
    """A cell whose text is longer than a cell may hold; the text itself is not kept."""
    return Problem(f"holds text longer than {limit:,} characters, more than a cell may hold")


def number_text(raw: str) -> Value:
    """A stored number as a spreadsheet shows it in General format: `42`, `12.5`, never `42.0`."""
    number = _number(raw)
    if isinstance(number, Problem):
        return number
    if number.is_zero():
        return "0"
    return format(number.normalize(_EXCEL_DIGITS), "f")


def serial_date(raw: str, epoch: datetime) -> Problem:
    """A number stored in a date or time format: reported with the date it shows."""
    number = _number(raw)
    if isinstance(number, Problem):
        return number
    try:
        moment = from_excel(float(number), epoch)
    except (ValueError, OverflowError):
        return Problem(f"holds a date out of range ({raw.strip()}); {RETYPE}", raw.strip())
    return _date_problem(moment)


def _number(raw: str) -> Decimal | Problem:
    text = raw.strip()
    if len(text) > MAX_NUMBER_CHARS:
        shown = f"{text[:20]}…"
        return Problem(f"holds a number of {len(text):,} characters ({shown}); {RETYPE}", shown)
    try:
        number = _EXCEL_DIGITS.create_decimal(text)
    except DecimalException:  # not a number, or overflowing even Decimal's exponents
        return Problem(f"holds a number that cannot be read ({text}); {RETYPE}", text)
    if not number.is_finite() or (
        not number.is_zero() and abs(number.adjusted()) > _LARGEST_EXPONENT
    ):
        return Problem(f"holds a number out of a spreadsheet's range ({text}); {RETYPE}", text)
    return number


def iso_date(raw: str) -> Problem:
    """A cell of the rare ISO 8601 date type (`t="d"`)."""
    text = raw.strip()[:MAX_NUMBER_CHARS]  # the longest ISO 8601 date and time is 35
    try:
        moment = from_ISO8601(text)
    except (ValueError, OverflowError):
        return Problem(f"holds a date that cannot be read ({text}); {RETYPE}", text)
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
