"""Command batches from the importer: every row through the API's deciders, one atomic append.

A CommandBatch holds rows of one tenant to create as subscriptions. Each row is decided as
`POST /subscriptions` decides (handlers.Handlers.subscription); the rows that pass are appended
in one statement, each under its own idempotency key, so a batch is never half applied and a
batch sent again creates nothing twice (batch_rows.py says how a replay is answered).

A row fails alone: a reference text that names no single active entry (resolved beforehand,
see batch_rows.Resolved), a decider's refusal, or a Unique ID taken in the tenant or repeated in
the batch. A row answered before is answered the same way again, whatever its references name
now. Reservations are checked by reading before the append; should another writer take a value
in between, the append fails as a whole, the row asking for the value the holder query names is
failed, and the others are appended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from contracts.imports import BatchResult, CommandBatch
from services.subscription.domain import subscription
from services.subscription.write.batch_rows import Resolved, Row, highest_imported
from services.subscription.write.eventstore import (
    AlreadyAnswered,
    EventStore,
    Reservation,
    ReservationTaken,
)
from services.subscription.write.handlers import references
from services.subscription.write.unique_ids import UniqueIds

log = logging.getLogger(__name__)

# Restarts of a batch whose copy (a retry sent while the first was still running) committed
# first: the next attempt recalls those rows and answers them as replays.
ATTEMPTS = 3


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

    async def handle(
        self, batch: CommandBatch, resolved: Sequence[Resolved] | None = None
    ) -> BatchResult:
        """One result per row, in the batch's order, and the highest position appended.

        `resolved` holds, row by row, what the rows' reference texts name.
        """
        for _ in range(ATTEMPTS):
            try:
                result = await self._attempt(batch, resolved or [Resolved() for _ in batch.rows])
            except AlreadyAnswered as exc:
                log.info("a copy of the batch committed first", extra={"key": exc.key})
                continue
            _log(batch, result)
            return result
        raise RuntimeError("copies of this batch kept committing first; send it again")

    async def _attempt(self, batch: CommandBatch, resolved: Sequence[Resolved]) -> BatchResult:
        rows = [Row(source, found) for source, found in zip(batch.rows, resolved, strict=True)]
        position = await self._recall(batch, rows)
        for row in rows:
            if row.result is None and row.resolved.errors:
                row.fail_unresolved()
        await self._decide(batch, [r for r in rows if r.result is None])
        await self._check_reservations(batch.tenant_id, [r for r in rows if r.result is None])
        valid = [r for r in rows if r.result is None]
        if batch.dry_run:
            for row in valid:
                row.created(row.given_id)
        elif valid:
            position = max(position, await self._append(batch, valid))
        return BatchResult(results=[r.result for r in rows if r.result], position=position)

    async def _recall(self, batch: CommandBatch, rows: list[Row]) -> int:
        """Answer the rows already remembered, and repeats within the batch; their position."""
        keys = [r.source.idempotency_key for r in rows]
        remembered = await self._store.recall_many(batch.tenant_id, keys)
        first: dict[str, int] = {}
        position = 0
        for row in rows:
            key = row.source.idempotency_key
            if key in remembered:
                position = max(position, row.replay(batch, remembered[key].body))
            elif key in first:
                row.skip_repeated(first[key])
            else:
                first[key] = row.source.row
        return position

    async def _decide(self, batch: CommandBatch, rows: list[Row]) -> None:
        """Each row's command through the subscription decider, with the directory it names."""
        now = datetime.now(UTC)
        fresh = iter(await self._fresh_ids(batch, rows))
        for row in rows:
            # A dry run takes no number from the sequence: a stand-in of the row's own, unique in
            # the batch and never reported, lets the decider check the rest.
            row.prepare(row.given_id or next(fresh, f"DRY-RUN-{row.source.row}"), now)
        wanted = {i for r in rows if r.command for i in subscription.referenced_ids(r.command)}
        directory = references(await self._store.load_many(batch.tenant_id, list(wanted)))
        for row in rows:
            row.decide(directory)

    async def _fresh_ids(self, batch: CommandBatch, rows: list[Row]) -> list[str]:
        if batch.dry_run:
            return []
        count = sum(1 for r in rows if not r.given_id)
        return await self._unique_ids.next_many(batch.tenant_id, count)

    async def _check_reservations(self, tenant_id: str, rows: list[Row]) -> None:
        """Fail the rows asking for a value an earlier row of the batch or a stream holds."""
        claimed: dict[Reservation, Row] = {}
        for row in rows:
            repeated = next((r for r in row.reserve if r in claimed), None)
            if repeated is not None:
                row.fail_repeated(repeated, claimed[repeated])
                continue
            claimed.update((r, row) for r in row.reserve)
        for value in await self._store.holders(tenant_id, list(claimed)):
            claimed[value].fail_taken(value)

    async def _append(self, batch: CommandBatch, rows: list[Row]) -> int:
        """Append the valid rows in one statement; their highest position."""
        highest = highest_imported(rows)
        if highest is not None:
            # Before the append: the sequence must never hand out an imported SUB-<n>.
            await self._unique_ids.move_past(batch.tenant_id, highest)
        now, pending = datetime.now(UTC), list(rows)
        while pending:
            streams = [r.stream_append(batch, now) for r in pending]
            try:
                appended = await self._store.append(
                    streams, remember=[r.remember(batch) for r in pending]
                )
            except ReservationTaken as exc:
                row = next((r for r in pending if exc.reservation in r.reserve), None)
                if row is None:
                    raise
                row.fail_taken(exc.reservation)
                pending.remove(row)
                continue
            if self._on_appended is not None:
                self._on_appended()
            for row in pending:
                assert row.command is not None
                row.created(row.command.unique_id)
            return max(a.position for a in appended)
        return 0


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
