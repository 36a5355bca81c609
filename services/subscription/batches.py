"""Command batches from the importer: every row through the API's deciders, one atomic append.

A CommandBatch holds rows of one tenant to create as subscriptions. Each row is decided as
`POST /subscriptions` decides (handlers.Handlers.subscription); the rows that pass are appended
in one statement, each under its own idempotency key, so a batch is never half applied and a
batch sent again creates nothing twice. A row's remembered answer names the import and the row
that created it: replayed by that same row of that import (a worker restarted mid-file) it
counts as created again; replayed by anything else (the same file uploaded twice, a repeated
line) it is skipped.

A row fails alone: a decider's refusal, or a Unique ID taken in the tenant or repeated in the
batch. Reservations are checked by reading before the append; should another writer take a
value in between, the append fails as a whole, the row asking for the value the holder query
names is failed, and the others are appended.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from contracts.base import Event
from contracts.commands import CreateSubscription
from contracts.envelope import Metadata
from contracts.imports import BatchResult, CommandBatch, ImportedSubscription, RowResult
from contracts.spreadsheet import FIELD_COLUMNS

from .domain import subscription
from .domain.errors import DomainError
from .eventstore import (
    AlreadyAnswered,
    EventStore,
    IdempotencyKey,
    Remember,
    Reservation,
    ReservationTaken,
    StreamAppend,
)
from .handlers import claims_change, references
from .unique_ids import UniqueIds, number_of

log = logging.getLogger(__name__)

# Restarts of a batch whose copy (a retry sent while the first was still running) committed
# first: the next attempt recalls those rows and answers them as replays.
ATTEMPTS = 3
CREATED = 201


@dataclass
class _Row:
    """One row on its way through the batch; `result` is set once its outcome is known."""

    source: ImportedSubscription
    result: RowResult | None = None
    command: CreateSubscription | None = None
    events: list[Event] = field(default_factory=list)
    reserve: list[Reservation] = field(default_factory=list)


class Batches:
    """Carries out the importer's command batches against the event store."""

    def __init__(
        self,
        store: EventStore,
        unique_ids: UniqueIds,
        on_appended: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._unique_ids = unique_ids
        self._on_appended = on_appended  # after each commit: wake the relay (hints.py)

    async def handle(self, batch: CommandBatch) -> BatchResult:
        """One result per row, in the batch's order, and the highest position appended."""
        for _ in range(ATTEMPTS):
            try:
                result = await self._attempt(batch)
            except AlreadyAnswered as exc:
                log.info("a copy of the batch committed first", extra={"key": exc.key})
                continue
            _log(batch, result)
            return result
        raise RuntimeError("copies of this batch kept committing first; send it again")

    async def _attempt(self, batch: CommandBatch) -> BatchResult:
        rows = [_Row(source) for source in batch.rows]
        position = await self._recall(batch, rows)
        await self._decide(batch, [r for r in rows if r.result is None])
        await self._check_reservations(batch.tenant_id, [r for r in rows if r.result is None])
        valid = [r for r in rows if r.result is None]
        if batch.dry_run:
            for row in valid:
                row.result = _created(row, _given_id(row.source))
        elif valid:
            position = max(position, await self._append(batch, valid))
        return BatchResult(results=[r.result for r in rows if r.result], position=position)

    async def _recall(self, batch: CommandBatch, rows: list[_Row]) -> int:
        """Answer the rows already remembered, and repeats within the batch; their position."""
        keys = [r.source.idempotency_key for r in rows]
        remembered = await self._store.recall_many(batch.tenant_id, keys)
        first: dict[str, int] = {}
        position = 0
        for row in rows:
            key = row.source.idempotency_key
            if key in remembered:
                row.result, replayed = _replay(batch, row.source, remembered[key].body)
                position = max(position, replayed)
            elif key in first:
                message = f"same as row {first[key]}"
                row.result = RowResult(row=row.source.row, outcome="skipped", message=message)
            else:
                first[key] = row.source.row
        return position

    async def _decide(self, batch: CommandBatch, rows: list[_Row]) -> None:
        """Each row's command through the subscription decider, with the directory it names."""
        now = datetime.now(UTC)
        fresh = iter(await self._fresh_ids(batch, rows))
        for row in rows:
            # A dry run takes no number from the sequence; the decider does not read the ID.
            unique_id = _given_id(row.source) or next(fresh, "")
            row.command = _command(row.source, unique_id, now)
        wanted = {i for r in rows if r.command for i in subscription.referenced_ids(r.command)}
        directory = references(await self._store.load_many(batch.tenant_id, list(wanted)))
        for row in rows:
            assert row.command is not None
            try:
                row.events = subscription.decide(row.command, subscription.initial_state, directory)
            except DomainError as exc:
                row.result = _failed(row.source, exc.message, _column(exc.pointer))
                continue
            after = subscription.initial_state
            for event in row.events:
                after = subscription.evolve(after, event)
            row.reserve, _ = claims_change(subscription.initial_state, after)

    async def _fresh_ids(self, batch: CommandBatch, rows: list[_Row]) -> list[str]:
        if batch.dry_run:
            return []
        count = sum(1 for r in rows if not _given_id(r.source))
        return await self._unique_ids.next_many(batch.tenant_id, count)

    async def _check_reservations(self, tenant_id: str, rows: list[_Row]) -> None:
        """Fail the rows asking for a value an earlier row of the batch or a stream holds."""
        claimed: dict[Reservation, _Row] = {}
        for row in rows:
            repeated = next((r for r in row.reserve if r in claimed), None)
            if repeated is not None:
                earlier = claimed[repeated].source.row
                message = f"{_label(repeated)} is also on row {earlier}"
                row.result = _failed(row.source, message, FIELD_COLUMNS.get(repeated.kind))
                continue
            claimed.update((r, row) for r in row.reserve)
        for value in await self._store.holders(tenant_id, list(claimed)):
            row = claimed[value]
            row.result = _taken(row.source, value)

    async def _append(self, batch: CommandBatch, rows: list[_Row]) -> int:
        """Append the valid rows in one statement; their highest position."""
        highest = _highest_imported(rows)
        if highest is not None:
            # Before the append: the sequence must never hand out an imported SUB-<n>.
            await self._unique_ids.move_past(batch.tenant_id, highest)
        now, pending = datetime.now(UTC), list(rows)
        while pending:
            streams = [_stream_append(batch, r, now) for r in pending]
            keys = [_remember(batch, r) for r in pending]
            try:
                appended = await self._store.append(streams, remember=keys)
            except ReservationTaken as exc:
                row = next((r for r in pending if exc.reservation in r.reserve), None)
                if row is None:
                    raise
                row.result = _taken(row.source, exc.reservation)
                pending.remove(row)
                continue
            if self._on_appended is not None:
                self._on_appended()
            for row in pending:
                assert row.command is not None
                row.result = _created(row, row.command.unique_id)
            return max(a.position for a in appended)
        return 0


def _command(source: ImportedSubscription, unique_id: str, now: datetime) -> CreateSubscription:
    return CreateSubscription(
        subscription_id=uuid4(),
        unique_id=unique_id,
        name=source.name,
        contact_id=source.contact_id,
        organization_id=source.organization_id,
        engineer_id=source.engineer_id,
        service_contract_id=source.service_contract_id,
        status=source.status,
        description=source.description,
        now=now,
    )


def _stream_append(batch: CommandBatch, row: _Row, now: datetime) -> StreamAppend:
    assert row.command is not None
    metadata = Metadata(
        actor=batch.actor,
        correlation_id=batch.import_id,
        idempotency_key=row.source.idempotency_key,
        import_id=batch.import_id,
    )
    return StreamAppend(
        batch.tenant_id,
        row.command.subscription_id,
        "subscription",
        0,
        row.events,
        metadata,
        now,
        reserve=row.reserve,
    )


def _remember(batch: CommandBatch, row: _Row) -> Remember:
    """The row's answer as replays read it: which import and row created which subscription."""
    assert row.command is not None
    content = row.source.model_dump_json(exclude={"row", "idempotency_key"})
    key = IdempotencyKey(
        batch.tenant_id, row.source.idempotency_key, hashlib.sha256(content.encode()).hexdigest()
    )
    body = {
        "row": row.source.row,
        "outcome": "created",
        "subscription_id": str(row.command.subscription_id),
        "unique_id": row.command.unique_id,
        "import_id": str(batch.import_id),
    }
    return Remember(key, CREATED, body, stream_id=row.command.subscription_id)


def _replay(
    batch: CommandBatch, source: ImportedSubscription, body: dict[str, Any]
) -> tuple[RowResult, int]:
    """A remembered row's result, and the position to count when it counts as created."""
    again = body.get("import_id") == str(batch.import_id) and body.get("row") == source.row
    unique_id = body.get("unique_id")
    result = RowResult(
        row=source.row,
        outcome="created" if again else "skipped",
        subscription_id=body.get("subscription_id"),
        unique_id=unique_id,
        message=None if again else f"already imported as {unique_id}",
    )
    return result, int(body.get("position") or 0) if again else 0


def _created(row: _Row, unique_id: str | None) -> RowResult:
    assert row.command is not None
    return RowResult(
        row=row.source.row,
        outcome="created",
        subscription_id=row.command.subscription_id,
        unique_id=unique_id or None,
    )


def _failed(source: ImportedSubscription, message: str, column: str | None) -> RowResult:
    return RowResult(row=source.row, outcome="failed", column=column, message=message)


def _taken(source: ImportedSubscription, value: Reservation) -> RowResult:
    message = f"{_label(value)} is already taken by another subscription"
    return _failed(source, message, FIELD_COLUMNS.get(value.kind))


def _label(value: Reservation) -> str:
    return f"{FIELD_COLUMNS.get(value.kind, value.kind)} {value.value}"


def _given_id(source: ImportedSubscription) -> str | None:
    return (source.unique_id or "").strip() or None


def _highest_imported(rows: list[_Row]) -> str | None:
    """The given Unique ID of the form SUB-<n> with the highest n, if any."""
    numbered = [(n, u) for r in rows if (u := _given_id(r.source)) and (n := number_of(u))]
    return max(numbered)[1] if numbered else None


def _column(pointer: str | None) -> str | None:
    """The spreadsheet column of a decider's JSON pointer (`/contact_id` -> `Contact`)."""
    return FIELD_COLUMNS.get(pointer.strip("/")) if pointer else None


def _log(batch: CommandBatch, result: BatchResult) -> None:
    counts = {"rows_created": 0, "rows_skipped": 0, "rows_failed": 0}
    for row in result.results:
        counts[f"rows_{row.outcome}"] += 1
    log.info(
        "command batch handled",
        extra={
            "import_id": str(batch.import_id),
            "tenant_id": batch.tenant_id,
            "dry_run": batch.dry_run,
            "position": result.position,
            **counts,
        },
    )


__all__ = ["Batches"]
