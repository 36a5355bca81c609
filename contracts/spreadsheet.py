"""The spreadsheet's columns (template, import, export) and formula neutralising.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a
formula by spreadsheet programs (CSV/formula injection). Exports prefix such text with a single
quote, which spreadsheets show as plain text; imports take the quote off again, so a round trip
keeps the value.
"""

from __future__ import annotations

import re

from contracts.subscription import Status

UNIQUE_ID = "Unique ID"
NAME = "Subscription Name"
CONTACT = "Contact"
ORGANIZATION = "Organization"
STATUS = "Status"
ENGINEER = "Engineer"
SERVICE_CONTRACT = "Service Contract"
DESCRIPTION = "Description"
CREATED_AT = "Created At"

COLUMNS = (UNIQUE_ID, NAME, CONTACT, ORGANIZATION, STATUS, ENGINEER, SERVICE_CONTRACT, DESCRIPTION)
EXPORT_COLUMNS = (*COLUMNS, CREATED_AT)
REQUIRED = (NAME, CONTACT, STATUS, ENGINEER)

# The column of each field of a subscription, to name the column at fault in a row's error.
FIELD_COLUMNS = {
    "unique_id": UNIQUE_ID,
    "name": NAME,
    "contact_id": CONTACT,
    "organization_id": ORGANIZATION,
    "status": STATUS,
    "engineer_id": ENGINEER,
    "service_contract_id": SERVICE_CONTRACT,
    "description": DESCRIPTION,
}

STATUSES = tuple(s.value for s in Status)
SHEET_NAME = "Subscriptions"

# A spreadsheet program runs a cell starting with one of these as a formula. A CSV file opened in
# a locale whose separator is another character (`;` where the file uses `,`, or the reverse)
# splits a cell at that character, so a formula may also start right after any separator.
_FORMULA_STARTS = "=+-@\t\r"
_SEPARATORS = ",;\t|\n\r"
_QUOTE = "'"
# Where a formula could start: the cell's start or right after a separator, followed by quotes
# (one more is added, so text that already had quotes there comes back exactly) and a formula
# start. Zero-width, so that a formula start that is itself a separator (tab, CR) is seen too.
_START = f"(?<![^{re.escape(_SEPARATORS)}])"
_FORMULA_AT = re.compile(f"{_START}(?={_QUOTE}*[{re.escape(_FORMULA_STARTS)}])")
_NEUTRALISED_AT = re.compile(f"{_START}{_QUOTE}(?={_QUOTE}*[{re.escape(_FORMULA_STARTS)}])")


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it without running any part of it as a formula.

    A quote goes before every place a formula could start (see _FORMULA_AT); spreadsheets show
    a leading quote as "this is text". `restore` takes exactly those quotes off again.
    """
    return _FORMULA_AT.sub(_QUOTE, text)


def restore(text: str) -> str:
    """Undo `neutralise`: the quote it put before each formula start is taken off."""
    return _NEUTRALISED_AT.sub("", text)


def header_key(header: str) -> str:
    """A header compared forgivingly: case, spaces and underscores do not matter."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())
