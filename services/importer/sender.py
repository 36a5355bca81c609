"""Command batches to the subscription service over core NATS request/reply.

A batch is cut at `MAX_BATCH_BYTES` (NATS refuses payloads over 1 MiB) or at the configured
number of rows. A batch that gets no answer is sent again as it was, with the same idempotency
keys, so the rows a lost reply had created come back as replays instead of twice. Each request
is signed (`SIGNATURE_HEADER`, an HMAC of its body under WISPGATE_COMMANDS_SECRET): the service
acts only on batches the importer signed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError

from contracts.imports import (
    MAX_BATCH_BYTES,
    SIGNATURE_HEADER,
    BatchResult,
    ImportedSubscription,
    RowCheck,
    RowReferences,
    batch_signature,
)

from .jobs import Failure, Job
from .table import Record

log = logging.getLogger(__name__)

Answer = TypeVar("Answer")


class Unanswered(Exception):
    """The subscription service did not handle a batch after every retry."""


@dataclass
class Batch:
    """Consecutive data rows: the valid ones to send, the failed ones to record (and the
    references of those to check)."""

    rows: list[ImportedSubscription] = field(default_factory=list)
    encoded: list[bytes] = field(default_factory=list)
    records: dict[int, Record] = field(default_factory=dict)  # the valid rows, by sheet row
    failures: list[Failure] = field(default_factory=list)
    checks: list[bytes] = field(default_factory=list)  # encoded RowChecks
    size: int = 0
    last_row: int = 0

    @property
    def to_send(self) -> bool:
        return bool(self.rows or self.checks)


class Batcher:
    """Cuts a file's rows into batches small enough for one request each."""

    def __init__(self, job: Job, max_rows: int, max_bytes: int = MAX_BATCH_BYTES) -> None:
        self.head = _head(job)
        self.max_rows = max_rows
        self.max_bytes = max_bytes - len(self.head) - 32
        self.batch = Batch()

    def add(self, row: ImportedSubscription, record: Record) -> Batch | None:
        """Add a valid row; returns the batch it did not fit in, now complete."""
        encoded = row.model_dump_json().encode()
        full = self._cut(len(encoded) + 1)
        self.batch.rows.append(row)
        self.batch.encoded.append(encoded)
        self.batch.records[row.row] = record
        self.batch.size += len(encoded) + 1
        self.batch.last_row = row.row
        return full

    def fail(self, failure: Failure, references: RowReferences | None) -> Batch | None:
        """Add a row that failed validation, its references to be checked; returns the batch
        it did not fit in."""
        check = b""
        if references is not None:
            check = RowCheck(row=failure.row, references=references).model_dump_json().encode()
        full = self._cut(len(check) + 1 if check else 0)
        self.batch.failures.append(failure)
        if check:
            self.batch.checks.append(check)
            self.batch.size += len(check) + 1
        self.batch.last_row = failure.row
        return full

    def _cut(self, extra_bytes: int) -> Batch | None:
        batch = self.batch
        rows = len(batch.rows) + len(batch.failures)
        too_big = batch.to_send and batch.size + extra_bytes > self.max_bytes
        if rows >= self.max_rows or too_big:
            self.batch = Batch()
            return batch
        return None

    def rest(self) -> Batch | None:
        """The last, partly filled batch."""
        batch, self.batch = self.batch, Batch()
        return batch if batch.rows or batch.failures else None

    def body(self, batch: Batch) -> bytes:
        """The CommandBatch as JSON, its rows and checks already encoded once."""
        rows, checks = b",".join(batch.encoded), b",".join(batch.checks)
        return self.head + b"[" + rows + b'], "checks": [' + checks + b"]}"


def _head(job: Job) -> bytes:
    fields = {
        "import_id": str(job.id),
        "tenant_id": job.tenant_id,
        "actor": job.actor,
        "dry_run": job.dry_run,
    }
    return json.dumps(fields)[:-1].encode() + b', "rows": '


class Sender:
    """Sends batches and waits for their results, retrying with a growing delay."""

    def __init__(
        self,
        nc: Client,
        subject: str,
        timeout: float,
        attempts: int,
        delay: float,
        *,
        secret: str,
    ) -> None:
        self.nc = nc
        self.subject = subject
        self.timeout = timeout
        self.attempts = attempts
        self.delay = delay
        self.secret = secret

    async def send(self, body: bytes, rows: list[ImportedSubscription]) -> BatchResult:
        """The service's result for every row of the batch, and its checks' problems."""

        def checked(data: bytes) -> BatchResult:
            return _checked(BatchResult.model_validate_json(data), rows)

        return await self.ask(body, checked, rows=len(rows))

    async def ask(
        self,
        body: bytes,
        answer: Callable[[bytes], Answer],
        *,
        rows: int,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send a signed batch and read the reply with `answer`, sending it again as it was with
        a growing delay while no answer comes or `answer` refuses the reply (ValidationError or
        BatchFailed); Unanswered once every attempt is spent."""
        problem = ""
        signed = {SIGNATURE_HEADER: batch_signature(self.secret, body), **(headers or {})}
        for attempt in range(1, self.attempts + 1):
            try:
                reply = await self.nc.request(
                    self.subject, body, timeout=self.timeout, headers=signed
                )
                return answer(reply.data)
            except (NatsTimeout, NoRespondersError, TimeoutError) as exc:
                problem = f"no answer from the subscription service ({type(exc).__name__})"
            except (ValidationError, BatchFailed) as exc:
                problem = f"the subscription service could not handle a batch: {exc}"
            log.warning(
                "command batch not handled",
                extra={"attempt": attempt, "problem": problem, "rows": rows},
            )
            if attempt < self.attempts:
                await asyncio.sleep(self.delay * 2 ** (attempt - 1))
        raise Unanswered(problem)


class BatchFailed(Exception):
    """A reply that does not answer the batch row by row."""


def _checked(result: BatchResult, rows: list[ImportedSubscription]) -> BatchResult:
    if result.error:
        raise BatchFailed(result.error)
    if [r.row for r in result.results] != [r.row for r in rows]:
        raise BatchFailed("the reply does not answer every row of the batch in order")
    return result
