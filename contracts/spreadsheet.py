"""The spreadsheet's columns (template, import, export) and formula neutralising.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a
formula by spreadsheet programs (CSV/formula injection). Exports prefix such text with a single
quote, which spreadsheets show as plain text; imports take the quote off again, so a round trip
keeps the value.
"""

from __future__ import annotations

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

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it without running it as a formula."""
    return _QUOTE + text if text.startswith(_FORMULA_STARTS) else text


def restore(text: str) -> str:
    """Undo `neutralise`: a quote before a formula character is taken off."""
    if text.startswith(_QUOTE) and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text


def header_key(header: str) -> str:
    """A header compared forgivingly: case, spaces and underscores do not matter."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())
