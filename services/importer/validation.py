"""A data row checked as the form checks a subscription, its references kept as text.

Every problem found here is reported, each naming its column. The subscription service resolves
the references (contact, organization, engineer, service contract) among the tenant's directory
and its deciders check the valid rows again, as they check the API's commands; a failed row's
references are sent to be checked too, so that its report lists every problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contracts.imports import ImportedSubscription, RowError, RowReferences
from contracts.spreadsheet import (
    COLUMNS,
    CONTACT,
    DESCRIPTION,
    ENGINEER,
    NAME,
    ORGANIZATION,
    SERVICE_CONTRACT,
    STATUS,
    STATUSES,
    UNIQUE_ID,
    restore,
)
from contracts.subscription import Status

from .table import Record
from .xlsx.cells import Problem

# The API's bounds (SubscriptionIn): a name of 1-200 characters, a description up to 5000.
MAX_LENGTHS = {UNIQUE_ID: 64, NAME: 200, DESCRIPTION: 5000}
_STATUSES = {s.casefold(): Status(s) for s in STATUSES}
IDEMPOTENCY_PREFIX = "import:"
# The reference columns, by their field of RowReferences.
REFERENCES = {
    "contact": CONTACT,
    "organization": ORGANIZATION,
    "engineer": ENGINEER,
    "service_contract": SERVICE_CONTRACT,
}


@dataclass(frozen=True)
class Rejected:
    """A row with problems found here; its references, if any, still to be checked."""

    errors: list[RowError]
    references: RowReferences | None = None


class Validator:
    """Checks the rows of one file in order, remembering what earlier rows held."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self._unique_ids: dict[str, int] = {}
        self._keys: dict[str, int] = {}

    def check(self, record: Record) -> ImportedSubscription | Rejected:
        """The row ready to send, or every problem found here."""
        errors: list[RowError] = []
        texts = self._texts(record, errors)
        references = _references(texts)
        status = self._status(record.row, texts.get(STATUS), errors)
        for column in (NAME, CONTACT, STATUS, ENGINEER):
            if column not in texts and not _reported(errors, column):
                message = f"{column} is required"
                errors.append(RowError(row=record.row, column=column, message=message))
        self._repeated_unique_id(record.row, texts.get(UNIQUE_ID), errors)
        if errors:
            named = references if references != RowReferences() else None
            return Rejected(in_column_order(errors), named)
        assert status is not None
        return self._valid(record.row, texts, references, status)

    def _texts(self, record: Record, errors: list[RowError]) -> dict[str, str]:
        """Each known column's text, formula neutralising undone; problems reported."""
        texts: dict[str, str] = {}
        for column, value in record.values.items():
            if column in record.merged:
                continue
            if isinstance(value, Problem):
                message = f"{column} {value.message}"
                errors.append(RowError(row=record.row, column=column, message=message))
                continue
            text = restore(value).strip()
            limit = MAX_LENGTHS.get(column)
            if limit is not None and len(text) > limit:
                message = f"{column} is {len(text):,} characters long, more than {limit:,}"
                errors.append(RowError(row=record.row, column=column, message=message))
            elif text:
                texts[column] = text
        for column, ref in record.merged.items():
            message = f"{column} is part of the merged cells {ref}: unmerge them, fill in every row"
            errors.append(RowError(row=record.row, column=column, message=message))
        return texts

    @staticmethod
    def _status(row: int, text: str | None, errors: list[RowError]) -> Status | None:
        if text is None:
            return None
        status = _STATUSES.get(text.casefold())
        if status is None:
            message = f"Status {text!r} is not one of {', '.join(STATUSES)}"
            errors.append(RowError(row=row, column=STATUS, message=message))
        return status

    def _repeated_unique_id(self, row: int, unique_id: str | None, errors: list[RowError]) -> None:
        if unique_id is None:
            return
        first = self._unique_ids.setdefault(unique_id, row)
        if first != row:
            message = f"Unique ID {unique_id!r} is also on row {first}"
            errors.append(RowError(row=row, column=UNIQUE_ID, message=message))

    def _valid(
        self, row: int, texts: dict[str, str], references: RowReferences, status: Status
    ) -> ImportedSubscription | Rejected:
        fields = {
            "unique_id": texts.get(UNIQUE_ID),
            "name": texts[NAME],
            "status": status,
            "description": texts.get(DESCRIPTION),
        }
        key = idempotency_key(self.tenant_id, fields | references.model_dump())
        first = self._keys.setdefault(key, row)
        if first != row:
            message = (
                f"row {row} repeats row {first} exactly: a subscription is imported once; give"
                " it its own Unique ID or Description if it is another one"
            )
            return Rejected([RowError(row=row, column=NAME, message=message)])
        return ImportedSubscription(row=row, idempotency_key=key, references=references, **fields)


def idempotency_key(tenant_id: str, fields: Mapping[str, object]) -> str:
    """The same for the same tenant and values, whatever the row or the job (see contracts)."""
    values = (fields[name] for name in sorted(fields))
    text = "\x1f".join([tenant_id, *("" if v is None else str(v) for v in values)])
    return IDEMPOTENCY_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def in_column_order(errors: Iterable[RowError]) -> list[RowError]:
    """A row's problems in the template's column order (a column's own in the order found)."""
    return sorted(errors, key=_column_order)


def _references(texts: dict[str, str]) -> RowReferences:
    return RowReferences(**{name: texts.get(column) for name, column in REFERENCES.items()})


def _reported(errors: list[RowError], column: str) -> bool:
    return any(e.column == column for e in errors)


_ORDER = {c: i for i, c in enumerate(COLUMNS)}


def _column_order(error: RowError) -> int:
    return _ORDER.get(error.column or "", len(_ORDER))
