"""Bulk batches from the importer: one status change or engineer assignment per subscription.

A signed request with `BATCH_KIND_HEADER: bulk` holds a BulkBatch (contracts/bulk.py). Its job
must be a running bulk job the API stored, and the batch's tenant, actor and action must be the
job's (read through read/imports.py, kept a few seconds as authentication.Jobs keeps imports).
Each row is then carried out as `POST /subscriptions/{id}/status` or `/engineer` is, through the
same use-case runner and handler, one command per subscription with the idempotency key
`row_key(job, subscription)` and the job's id as the events' `import_id`, so the History tab of
each subscription names the job. A row already applied (a batch sent again after a lost reply
or a restart) answers its first outcome and appends nothing. A row the rules refuse is answered
`refused` with the decider's message, alone: the batch's other rows go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import replace
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import TypeAdapter, ValidationError

from contracts.bulk import (
    BulkAction,
    BulkBatch,
    BulkBatchResult,
    BulkRow,
    BulkRowResult,
    EngineerAction,
    StatusAction,
    row_key,
)
from contracts.commands import AssignEngineer, ChangeStatus
from contracts.imports import JobState
from contracts.subjects import check_tenant
from services.subscription.commands.authentication import Refused
from services.subscription.read import imports
from services.subscription.usecases.calls import CHANGED, Call, Runner, now
from services.subscription.usecases.errors import (
    DomainError,
    IdempotencyKeyReused,
    LostRace,
    ReservationTaken,
    taken_message,
)
from services.subscription.write.handlers import Context, Handlers, Outcome

log = logging.getLogger(__name__)

KEEP_SECONDS = 5.0
# Rows of one batch carried out at once: each is a stream of its own (a job names a
# subscription once), so they never race each other; a few overlap their round trips.
ROWS_AT_ONCE = 4
ACTION = TypeAdapter[BulkAction](BulkAction)


class BulkChanges:
    """Carries out bulk batches, checked against their jobs."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        runner: Runner,
        handlers: Handlers,
        keep_seconds: float = KEEP_SECONDS,
    ) -> None:
        self._pool = pool
        self._runner = runner
        self._handlers = handlers
        self._keep_seconds = keep_seconds
        self._kept: dict[UUID, tuple[float, imports.BulkOrigin]] = {}

    async def answer(self, data: bytes) -> BulkBatchResult:
        """The reply to one signed bulk request, whatever it held."""
        try:
            batch = BulkBatch.model_validate_json(data)
            check_tenant(batch.tenant_id)
        except (ValidationError, ValueError) as exc:
            return BulkBatchResult(error=f"not a bulk batch: {str(exc)[:500]}")
        fields = {"import_id": str(batch.job_id), "tenant_id": batch.tenant_id}
        try:
            await self._authorize(batch)
            result = await self.handle(batch)
        except Refused as exc:
            log.warning("bulk batch refused: %s", exc, extra=fields)
            return BulkBatchResult(error=f"refused: {exc}")
        except Exception as exc:
            log.exception("bulk batch failed", extra=fields)
            return BulkBatchResult(error=f"the batch was not handled ({exc}); send it again")
        log.info(
            "bulk batch handled",
            extra={**fields, "rows": len(batch.rows), "position": result.position},
        )
        return result

    async def handle(self, batch: BulkBatch) -> BulkBatchResult:
        """Each row's command, a few at once; one result per row, in the batch's order."""
        action_hash = hashlib.sha256(batch.action.model_dump_json().encode()).hexdigest()
        gate = asyncio.Semaphore(ROWS_AT_ONCE)

        async def one(row: BulkRow) -> tuple[BulkRowResult, int]:
            async with gate:
                return await self._row(batch, row, action_hash)

        done = await asyncio.gather(*(one(row) for row in batch.rows))
        position = max((appended_at for _, appended_at in done), default=0)
        return BulkBatchResult(results=[result for result, _ in done], position=position)

    async def _row(
        self, batch: BulkBatch, row: BulkRow, action_hash: str
    ) -> tuple[BulkRowResult, int]:
        call = Call(
            actor=batch.actor,
            tenant_id=batch.tenant_id,
            correlation_id=batch.job_id,
            idempotency_key=row_key(batch.job_id, row.subscription_id),
            request_hash=action_hash,
        )
        command = _command(batch.action, row.subscription_id)

        async def send(ctx: Context) -> Outcome:
            # The job's id on every event, as an import's rows carry theirs.
            metadata = ctx.metadata.model_copy(update={"import_id": batch.job_id})
            return await self._handlers.subscription(replace(ctx, metadata=metadata), command)

        try:
            done = await self._runner.run(call, send, _answer)
        except (DomainError, LostRace, IdempotencyKeyReused, ReservationTaken) as exc:
            message = _reason(exc)
            refused = BulkRowResult(
                seq=row.seq, subscription_id=row.subscription_id, outcome="refused", message=message
            )
            return refused, 0
        outcome = "changed" if done.body.get("appended", True) else "unchanged"
        position = int(done.body.get("position") or 0) if outcome == "changed" else 0
        result = BulkRowResult(seq=row.seq, subscription_id=row.subscription_id, outcome=outcome)
        return result, position

    async def _authorize(self, batch: BulkBatch) -> None:
        """Refused unless the batch is its running bulk job's, as the API stored it."""
        job = await self._origin(batch.job_id)
        if job is None or job.kind != "bulk":
            raise Refused(f"bulk job {batch.job_id} is unknown")
        if job.state != JobState.RUNNING:
            raise Refused(f"bulk job {batch.job_id} is {job.state}, not running")
        try:
            stored = ACTION.validate_python(job.action)
        except ValidationError as exc:
            raise Refused(f"bulk job {batch.job_id} has no action one can read") from exc
        differ = [
            name
            for name, claimed, kept in (
                ("tenant_id", batch.tenant_id, job.tenant_id),
                ("actor", batch.actor, job.actor),
                ("action", batch.action, stored),
            )
            if claimed != kept
        ]
        if differ:
            raise Refused(f"the batch's {', '.join(differ)} differ from bulk job {batch.job_id}'s")

    async def _origin(self, job_id: UUID) -> imports.BulkOrigin | None:
        at = time.monotonic()
        kept = self._kept.get(job_id)
        if kept is not None and at - kept[0] <= self._keep_seconds:
            return kept[1]
        job = await imports.bulk_origin(self._pool, job_id)
        self._kept = {k: v for k, v in self._kept.items() if at - v[0] <= self._keep_seconds}
        if job is not None and job.state == JobState.RUNNING:
            self._kept[job_id] = (at, job)
        return job


def _command(action: BulkAction, subscription_id: UUID) -> ChangeStatus | AssignEngineer:
    """The command one row stands for, as the API's status and engineer routes build it."""
    match action:
        case StatusAction():
            return ChangeStatus(
                subscription_id=subscription_id,
                status=action.status,
                reason=action.reason,
                now=now(),
            )
        case EngineerAction():
            return AssignEngineer(
                subscription_id=subscription_id, engineer_id=action.engineer_id, now=now()
            )


def _reason(exc: Exception) -> str:
    match exc:
        case DomainError():
            return exc.message
        case ReservationTaken():
            return taken_message(exc)
        case _:
            return str(exc)


def _answer(outcome: Outcome) -> tuple[str, dict[str, Any]]:
    """What is kept under a row's key: the API's answer, and whether anything was appended."""
    return CHANGED, {
        "id": str(outcome.stream_id),
        "version": outcome.version,
        "position": outcome.position,
        "appended": outcome.appended,
    }
