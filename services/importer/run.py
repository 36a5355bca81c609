"""One attempt at one import job: read the file, check every row, send batches, finish.

The sheet is read in a thread (its parsing is the CPU-heavy part; see reading.py), one batch
ahead of the batch being sent, so reading and the subscription service's work overlap. Anything
going wrong while the file is read or checked fails the job at once with a message; only the
sending and recording (NATS, PostgreSQL) are left to a later attempt. After each answered
batch the job records its counters, failed rows and the row to resume from in one statement: an
attempt that dies anywhere resumes from there, and a batch that was sent but not recorded is
sent again with the same idempotency keys, so its rows are not created twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Generator
from contextlib import aclosing
from typing import TypeVar

import asyncpg

from contracts.imports import BatchResult, RowError, RowResult
from plumbing import eventlog

from . import jobs
from .config import Settings
from .jobs import Failure, Job, Progress
from .reading import Reading
from .report import Report
from .sender import Batch, Batcher, Sender
from .table import Table, records, scan
from .validation import Rejected, Validator, in_column_order
from .xlsx import Refused, Workbook, open_workbook

log = logging.getLogger(__name__)

LIST_PROJECTION = "subscriptions"
T = TypeVar("T")


class Stopping(Exception):
    """The worker is shutting down: the job is handed back between two batches."""


class JobRun:
    """Carries one claimed job as far as it goes."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: Sender,
        settings: Settings,
        job: Job,
        stop: asyncio.Event,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.settings = settings
        self.job = job
        self.stop = stop
        self.position = job.position
        # A replayed row created by an earlier attempt may not report its position.
        self.position_unknown = False
        self.reading = Reading(settings.job_cpu_seconds, self._fields())
        self.report = Report.of(job, settings.max_error_rows, settings.max_failed_row_bytes)

    async def run(self) -> None:
        """Import the file; a file that cannot be read or checked fails the job with the
        reason (a refusal, or the sheet reading differently the second time)."""
        try:
            workbook, table = await self._read()
            await jobs.set_total(self.pool, self.job, table.rows_total)
            validator = Validator(self.job.tenant_id)
            batcher = Batcher(self.job, self.settings.batch_rows, self.settings.max_batch_bytes)
            await self._import(self._prepared(workbook, table, validator, batcher), batcher)
        except Refused as exc:
            log.info("import refused", extra=self._fields(reason=exc.message))
            await jobs.fail(self.pool, self.job, exc.message)
            return
        finally:
            self.reading.abandon()  # a step left running in its thread stops at its next row
        await self._finish()

    async def _import(self, prepared: Generator[Batch, None, None], batcher: Batcher) -> None:
        """Send the batches, a few at once; record their outcomes in the file's order, so
        that the row to resume from only ever moves past rows whose batch was answered."""
        sending: deque[asyncio.Future[Progress]] = deque()
        stopped = False
        try:
            async with aclosing(_ahead(prepared, self.reading)) as batches:
                async for batch in batches:
                    if stopped := self.stop.is_set():
                        break
                    sending.append(asyncio.ensure_future(self._send(batcher, batch)))
                    if len(sending) >= self.settings.in_flight:
                        await self._record(await sending.popleft())
            while sending:
                await self._record(await sending.popleft())
        finally:
            for pending in sending:
                if pending.done() and not pending.cancelled():
                    pending.exception()  # retrieved: the first failure is the one raised
                else:
                    pending.cancel()
        if stopped:
            raise Stopping

    async def _record(self, progress: Progress) -> None:
        await jobs.record(self.pool, self.job, self.report.bounded(progress))

    async def _read(self) -> tuple[Workbook, Table]:
        data = await jobs.file_of(self.pool, self.job)
        if data is None:
            raise Refused("The uploaded file is missing.")
        limits = self.settings.limits
        workbook = await self.reading.step(open_workbook, data, limits)
        table = await self.reading.step(scan, workbook, limits, self.reading.check)
        log.info(
            "import started",
            extra=self._fields(sheet=table.sheet, rows_total=table.rows_total),
        )
        return workbook, table

    def _prepared(
        self, workbook: Workbook, table: Table, validator: Validator, batcher: Batcher
    ) -> Generator[Batch, None, None]:
        """Batches of the rows not yet recorded. Earlier rows are checked too, so that a row
        repeating one of them is still caught after a restart."""
        resume = self.job.resume_row
        for record in records(workbook, table, self.reading.check):
            checked = validator.check(record)
            if record.row < resume:
                continue
            if isinstance(checked, Rejected):
                failure = Failure(record.row, checked.errors, record.cells)
                full = batcher.fail(failure, checked.references)
            else:
                full = batcher.add(checked, record)
            if full is not None:
                yield full
        rest = batcher.rest()
        if rest is not None:
            yield rest

    async def _send(self, batcher: Batcher, batch: Batch) -> Progress:
        created = skipped = 0
        failures = list(batch.failures)
        position = 0
        if batch.to_send:
            result = await self.sender.send(batcher.body(batch), batch.rows)
            for r in result.results:
                if r.outcome == "created":
                    created += 1
                elif r.outcome == "skipped":
                    skipped += 1
                else:
                    failures.append(Failure(r.row, _errors(r), batch.records[r.row].cells))
            failures = _with_checks(failures, result)
            position = result.position
            self.position = max(self.position, position)
            self.position_unknown |= created > 0 and not position and not self.job.dry_run
        failures.sort(key=lambda f: f.row)
        return Progress(created, skipped, failures, batch.last_row + 1, position)

    async def _finish(self) -> None:
        """Complete once the list holds the created rows (or the wait ran out)."""
        if self.position_unknown:
            self.position = max(self.position, await eventlog.head(self.pool))
        wait = self.settings.visible_wait
        if not await eventlog.wait_until_reached(self.pool, LIST_PROJECTION, self.position, wait):
            log.warning("list not caught up, completing anyway", extra=self._fields())
        await jobs.complete(self.pool, self.job, self.position)
        log.info("import completed", extra=self._fields())

    def _fields(self, **more: object) -> dict[str, object]:
        return {"import_id": str(self.job.id), "tenant_id": self.job.tenant_id,
                "attempt": self.job.attempts, "position": self.position, **more}  # fmt: skip


def _errors(result: RowResult) -> list[RowError]:
    """A failed row's problems as the subscription service gave them."""
    if result.errors:
        return list(result.errors)
    message = _message(result.column, result.message)
    return [RowError(row=result.row, column=result.column, message=message)]


def _with_checks(failures: list[Failure], result: BatchResult) -> list[Failure]:
    """The failed rows with the problems their checked references have, in column order."""
    checked = {r.row: _errors(r) for r in result.checks}
    if not checked:
        return failures
    return [
        Failure(f.row, in_column_order([*f.errors, *checked[f.row]]), f.cells)
        if f.row in checked
        else f
        for f in failures
    ]


def _message(column: str | None, message: str | None) -> str:
    """A decider's message, naming its column as the importer's own messages do."""
    text = message or "refused by the subscription service"
    return text if not column or text.startswith(column) else f"{column}: {text}"


async def _ahead(items: Generator[T, None, None], reading: Reading) -> AsyncGenerator[T, None]:
    """The items of a blocking iterator, each made in a reading step (a thread) while the
    previous one is used.

    A step under way is always finished (a thread cannot be cancelled), and the iterator is
    closed after it, never during.
    """
    step = asyncio.ensure_future(reading.step(next, items, None))
    try:
        while (item := await asyncio.shield(step)) is not None:
            step = asyncio.ensure_future(reading.step(next, items, None))
            yield item
    finally:
        await asyncio.wait({step})
        if not step.cancelled() and step.exception() is None:
            items.close()
