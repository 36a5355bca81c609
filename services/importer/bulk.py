"""One attempt at a bulk job (kind `bulk`): its subscriptions, in batches, to the `commands`
process, one command per subscription under the job's action.

The subscriptions were stored with the job by the API (imports.submit_bulk, migration 0004) and
are read here in their order (`seq`), a batch at a time from the job's `resume_row`. Batches go
out as import batches do (signed, on the same subject, a few in flight) with the header
`contracts.bulk.BATCH_KIND_HEADER`; their outcomes are recorded in order, each with the row to
resume from, in one statement (jobs.record): changed rows count as created, rows already as
asked as skipped, refused rows as failed, each kept with its reason in the job's report (bounded
as an import's, report.py). A batch sent but not recorded is sent again after a restart: every
row carries the key `contracts.bulk.row_key(job, subscription)`, so nothing is applied twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence

import asyncpg
from pydantic import TypeAdapter, ValidationError

from contracts.bulk import (
    BATCH_KIND_HEADER,
    BULK_KIND,
    BulkAction,
    BulkBatch,
    BulkBatchResult,
    BulkRow,
)
from contracts.imports import RowError
from plumbing import eventlog

from . import jobs
from .config import Settings
from .jobs import Failure, Job, Progress
from .report import Report
from .run import LIST_PROJECTION, Stopping
from .sender import BatchFailed, Sender

log = logging.getLogger(__name__)

ROWS = """
select seq, subscription_id from imports.bulk_rows
where job_id = $1 and seq >= $2 order by seq limit $3
"""
# The one cell of a refused row in the report: which subscription it was.
SUBSCRIPTION_CELL = "Subscription"
ACTION = TypeAdapter[BulkAction](BulkAction)


class BulkRun:
    """Carries one claimed bulk job as far as it goes."""

    def __init__(
        self, pool: asyncpg.Pool, sender: Sender, settings: Settings, job: Job, stop: asyncio.Event
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.settings = settings
        self.job = job
        self.stop = stop
        self.position = job.position
        self.report = Report.of(job, settings.max_error_rows, settings.max_failed_row_bytes)

    async def run(self) -> None:
        """Send every subscription not yet recorded, then complete once the list shows them."""
        try:
            action = ACTION.validate_python(self.job.action)
        except ValidationError as exc:
            await jobs.fail(self.pool, self.job, f"The job's action cannot be read: {exc}")
            return
        sending: deque[asyncio.Future[Progress]] = deque()
        seq = self.job.resume_row
        try:
            while rows := await self.pool.fetch(ROWS, self.job.id, seq, self.settings.bulk_rows):
                if self.stop.is_set():
                    raise Stopping
                batch = [BulkRow(seq=r["seq"], subscription_id=r["subscription_id"]) for r in rows]
                sending.append(asyncio.ensure_future(self._send(action, batch)))
                if len(sending) >= self.settings.in_flight:
                    await self._record(await sending.popleft())
                seq = batch[-1].seq + 1
            while sending:
                await self._record(await sending.popleft())
        finally:
            for pending in sending:
                if pending.done() and not pending.cancelled():
                    pending.exception()  # retrieved: the first failure is the one raised
                else:
                    pending.cancel()
        await self._finish()

    async def _send(self, action: BulkAction, rows: list[BulkRow]) -> Progress:
        batch = BulkBatch(
            job_id=self.job.id,
            tenant_id=self.job.tenant_id,
            actor=self.job.actor,
            action=action,
            rows=rows,
        )
        result = await request(self.sender, batch.model_dump_json().encode(), rows)
        changed = unchanged = 0
        failures: list[Failure] = []
        for r in result.results:
            if r.outcome == "changed":
                changed += 1
            elif r.outcome == "unchanged":
                unchanged += 1
            else:
                message = r.message or "refused by the subscription service"
                error = RowError(row=r.seq, column=None, message=message)
                failures.append(
                    Failure(r.seq, [error], [(SUBSCRIPTION_CELL, str(r.subscription_id))])
                )
        self.position = max(self.position, result.position)
        return Progress(changed, unchanged, failures, rows[-1].seq + 1, result.position)

    async def _record(self, progress: Progress) -> None:
        await jobs.record(self.pool, self.job, self.report.bounded(progress))

    async def _finish(self) -> None:
        wait = self.settings.visible_wait
        if not await eventlog.wait_until_reached(self.pool, LIST_PROJECTION, self.position, wait):
            log.warning("list not caught up, completing anyway", extra=self._fields())
        await jobs.complete(self.pool, self.job, self.position)
        log.info("bulk change completed", extra=self._fields())

    def _fields(self) -> dict[str, object]:
        return {"import_id": str(self.job.id), "tenant_id": self.job.tenant_id,
                "attempt": self.job.attempts, "position": self.position}  # fmt: skip


async def request(sender: Sender, body: bytes, rows: Sequence[BulkRow]) -> BulkBatchResult:
    """The service's result for every row of a bulk batch, sent as import batches are."""

    def checked(data: bytes) -> BulkBatchResult:
        return _checked(BulkBatchResult.model_validate_json(data), rows)

    return await sender.ask(body, checked, rows=len(rows), headers={BATCH_KIND_HEADER: BULK_KIND})


def _checked(result: BulkBatchResult, rows: Sequence[BulkRow]) -> BulkBatchResult:
    if result.error:
        raise BatchFailed(result.error)
    if [r.seq for r in result.results] != [r.seq for r in rows]:
        raise BatchFailed("the reply does not answer every row of the batch in order")
    return result
