"""One row of an import batch: its command, decision, append, remembered answer and result.

Pure mapping between the importer's contract (contracts.imports) and the event store's terms;
batches.py does the I/O. A row naming its references by text has them resolved beforehand (the
commands process's references.py): the ids found, or every problem, each naming its column. A
row's remembered answer names the import and the row that created it, so a replay can tell a
worker restarted mid-file (the same row of the same import: created) from anything else (the
same file uploaded again, a repeated line: skipped).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from contracts.base import Event
from contracts.commands import CreateSubscription
from contracts.envelope import Metadata
from contracts.imports import CommandBatch, ImportedSubscription, RowError, RowResult
from contracts.spreadsheet import FIELD_COLUMNS
from services.subscription.domain import subscription
from services.subscription.domain.errors import DomainError
from services.subscription.write.eventstore import (
    IdempotencyKey,
    Remember,
    Reservation,
    StreamAppend,
)
from services.subscription.write.handlers import claims_change
from services.subscription.write.unique_ids import number_of

CREATED = "created"  # the outcome kept under the key, as the use cases name it


@dataclass(frozen=True)
class Resolved:
    """What a row's reference texts name: ids by the command's field, or what is wrong."""

    ids: dict[str, UUID] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


@dataclass
class Row:
    """One row on its way through a batch; `result` is set once its outcome is known."""

    source: ImportedSubscription
    resolved: Resolved = field(default_factory=Resolved)
    result: RowResult | None = None
    command: CreateSubscription | None = None
    events: list[Event] = field(default_factory=list)
    reserve: list[Reservation] = field(default_factory=list)

    @property
    def given_id(self) -> str | None:
        """The Unique ID the file gives, if any."""
        return (self.source.unique_id or "").strip() or None

    def prepare(self, unique_id: str, now: datetime) -> None:
        """The create command, as `POST /subscriptions` builds it."""
        s, ids = self.source, self.resolved.ids
        self.command = CreateSubscription(
            subscription_id=uuid4(),
            unique_id=unique_id,
            name=s.name,
            contact_id=s.contact_id or ids["contact_id"],
            organization_id=s.organization_id or ids.get("organization_id"),
            engineer_id=s.engineer_id or ids["engineer_id"],
            service_contract_id=s.service_contract_id or ids.get("service_contract_id"),
            status=s.status,
            description=s.description,
            now=now,
        )

    def decide(self, directory: subscription.Directory) -> None:
        """The decider's events and the values they reserve, or the row's failure."""
        assert self.command is not None
        try:
            self.events = subscription.decide(self.command, subscription.initial_state, directory)
        except DomainError as exc:
            self.fail(exc.message, _column(exc.pointer))
            return
        after = subscription.initial_state
        for event in self.events:
            after = subscription.evolve(after, event)
        self.reserve, _ = claims_change(subscription.initial_state, after)

    def fail(self, message: str, column: str | None) -> None:
        self.result = RowResult(
            row=self.source.row, outcome="failed", column=column, message=message
        )

    def fail_unresolved(self) -> None:
        """A reference text names no single active entry."""
        self.result = failed_result(self.source.row, self.resolved.errors)

    def fail_taken(self, value: Reservation) -> None:
        """Another subscription of the tenant holds the value."""
        self.fail(f"{_label(value)} is already taken by another subscription", _column(value.kind))

    def fail_repeated(self, value: Reservation, earlier: Row) -> None:
        """An earlier row of the batch asks for the same value."""
        self.fail(f"{_label(value)} is also on row {earlier.source.row}", _column(value.kind))

    def skip_repeated(self, earlier_row: int) -> None:
        """The same content as an earlier row of the batch (the same idempotency key)."""
        message = f"same as row {earlier_row}"
        self.result = RowResult(row=self.source.row, outcome="skipped", message=message)

    def created(self, unique_id: str | None) -> None:
        assert self.command is not None
        self.result = RowResult(
            row=self.source.row,
            outcome="created",
            subscription_id=self.command.subscription_id,
            unique_id=unique_id,
        )

    def replay(self, batch: CommandBatch, body: dict[str, Any]) -> int:
        """Answer from the remembered body; the position to count when it counts as created."""
        again = body.get("import_id") == str(batch.import_id) and body.get("row") == self.source.row
        unique_id = body.get("unique_id")
        self.result = RowResult(
            row=self.source.row,
            outcome="created" if again else "skipped",
            subscription_id=body.get("subscription_id"),
            unique_id=unique_id,
            message=None if again else f"already imported as {unique_id}",
        )
        return int(body.get("position") or 0) if again else 0

    def stream_append(self, batch: CommandBatch, now: datetime) -> StreamAppend:
        """The new subscription stream, its metadata naming the import."""
        assert self.command is not None
        metadata = Metadata(
            actor=batch.actor,
            correlation_id=batch.import_id,
            idempotency_key=self.source.idempotency_key,
            import_id=batch.import_id,
        )
        return StreamAppend(
            batch.tenant_id,
            self.command.subscription_id,
            "subscription",
            0,
            self.events,
            metadata,
            now,
            reserve=self.reserve,
        )

    def remember(self, batch: CommandBatch) -> Remember:
        """The answer kept under the row's idempotency key, written with the append."""
        assert self.command is not None
        content = self.source.model_dump_json(exclude={"row", "idempotency_key"})
        digest = hashlib.sha256(content.encode()).hexdigest()
        body = {
            "row": self.source.row,
            "outcome": "created",
            "subscription_id": str(self.command.subscription_id),
            "unique_id": self.command.unique_id,
            "import_id": str(batch.import_id),
        }
        key = IdempotencyKey(batch.tenant_id, self.source.idempotency_key, digest)
        return Remember(key, CREATED, body, stream_id=self.command.subscription_id)


def failed_result(row: int, errors: list[RowError]) -> RowResult:
    """A failed row's result with every problem (the first also as column and message)."""
    first = errors[0]
    return RowResult(
        row=row, outcome="failed", column=first.column, message=first.message, errors=errors
    )


def highest_imported(rows: list[Row]) -> str | None:
    """The given Unique ID of the form SUB-<n> with the highest n, if any."""
    numbered = [(n, u) for r in rows if (u := r.given_id) and (n := number_of(u))]
    return max(numbered)[1] if numbered else None


def _label(value: Reservation) -> str:
    return f"{FIELD_COLUMNS.get(value.kind, value.kind)} {value.value}"


def _column(pointer: str | None) -> str | None:
    """The spreadsheet column of a decider's field (`/contact_id` or `unique_id`)."""
    return FIELD_COLUMNS.get(pointer.strip("/")) if pointer else None
