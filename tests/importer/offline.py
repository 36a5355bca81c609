"""An import judged without PostgreSQL or NATS: the worker's reading and checking steps, then
the references resolved as the `commands` process resolves them (its pure directory index)."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from contracts.imports import ImportedSubscription, RowError
from services.importer.table import Table, records, scan
from services.importer.validation import Rejected, Validator, in_column_order
from services.importer.xlsx import Limits, open_workbook
from services.subscription.commands.references import Directory

TENANT = "t-offline"


@dataclass
class Outcome:
    table: Table
    sent: list[ImportedSubscription] = field(default_factory=list)  # as the importer sends them
    valid: list[ImportedSubscription] = field(default_factory=list)  # references resolved
    errors: dict[int, list[tuple[str | None, str]]] = field(default_factory=dict)

    def messages(self, row: int) -> list[str]:
        return [message for _, message in self.errors.get(row, [])]


def judge(data: bytes, directory: Directory, limits: Limits | None = None) -> Outcome:
    """What the worker would send, and report once the references are resolved."""
    limits = limits or Limits()
    workbook = open_workbook(data, limits)
    outcome = Outcome(scan(workbook, limits))
    validator = Validator(TENANT)
    for record in records(workbook, outcome.table):
        checked = validator.check(record)
        errors: list[RowError] = []
        if isinstance(checked, Rejected):
            errors = checked.errors
            if checked.references is not None:
                errors += directory.resolve_row(record.row, checked.references).errors
        else:
            outcome.sent.append(checked)
            resolved = directory.resolve_row(record.row, checked.references)
            errors = resolved.errors
            if not errors:
                ids = {**resolved.ids, "references": None}
                outcome.valid.append(checked.model_copy(update=ids))
        if errors:
            outcome.errors[record.row] = [(e.column, e.message) for e in in_column_order(errors)]
    return outcome


class People:
    """A tenant's directory for the tests, with the ids of its entries."""

    def __init__(self) -> None:
        self.ada, self.smith1, self.smith2, self.old = uuid4(), uuid4(), uuid4(), uuid4()
        self.acme, self.grace, self.contract = uuid4(), uuid4(), uuid4()
        rows = [
            _entry(self.ada, "contact", "Ada Lovelace", email="Ada@Example.com"),
            _entry(self.smith1, "contact", "John Smith"),
            _entry(self.smith2, "contact", "John Smith"),
            _entry(self.old, "contact", "Old Customer", active=False),
            _entry(self.acme, "organization", "Acme"),
            _entry(self.grace, "engineer", "Grace Hopper", email="grace@example.com"),
            _entry(self.contract, "service_contract", "Fibre 100", number="SC-1"),
        ]
        self.directory = Directory(rows)


def _entry(
    entry_id: UUID,
    kind: str,
    name: str,
    *,
    email: str | None = None,
    number: str | None = None,
    active: bool = True,
) -> dict[str, object]:
    return {
        "id": entry_id,
        "kind": kind,
        "name": name,
        "email": email,
        "number": number,
        "active": active,
    }
