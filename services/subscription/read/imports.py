"""Import jobs as the API sees them: stored on upload, read back for their state and errors.

The schema `imports` belongs to the importer, the only service writing it. This module uses
only the interface the importer publishes (services/importer/migrations/0002): the function
`imports.submit`, which stores a file and its queued job in one statement (or refuses it with
SQLSTATE WGQ01 while the tenant has too many imports waiting, 0003), and the views
`imports.job_states`, `imports.job_errors` and `imports.job_failed_rows`; for bulk changes
(0004) `imports.submit_bulk`, which stores a bulk job with its subscriptions in one statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.bulk import BulkJob, RefusedRow
from contracts.imports import ImportJob, JobState, RowError

# The job's `errors` list stops here; errors.xlsx carries every failed row.
MAX_LISTED_ERRORS = 1_000
PAGE_ROWS = 2_000

SUBMIT = "select imports.submit($1, $2, $3, $4, $5, $6)"
QUEUE_FULL = "WGQ01"

# `report_cut`: the importer kept only the first failed rows (its bound), and
# `report_deleted_at`: retention deleted them all; either way the errors listed are not all.
JOB = """
select id, state, dry_run, filename, rows_total, rows_processed, rows_created, rows_skipped,
       rows_failed, position, message, report_cut, report_deleted_at
from imports.job_states where tenant_id = $1 and id = $2 and kind = 'import'
"""
REPORT_DELETED = "select report_deleted_at from imports.job_states where id = $1"
# An import batch belongs to an import job (a bulk job's batches are checked by bulk_origin).
ORIGIN = """
select tenant_id, actor, state, dry_run from imports.job_states where id = $1 and kind = 'import'
"""
EXISTS = """
select exists (
    select 1 from imports.job_states where tenant_id = $1 and id = $2 and kind = 'import'
)
"""
ERRORS = """
select sheet_row as row, column_name as column, message from imports.job_errors
where job_id = $1 order by sheet_row, seq limit $2
"""
# A file has one header row, so a header's place among a row's cells is the same in every row.
HEADERS = """
select header from (
    select cell ->> 0 as header, min(place) as place
    from imports.job_failed_rows, jsonb_array_elements(cells) with ordinality as c(cell, place)
    where job_id = $1 group by 1
) headers order by place
"""
FAILED_ROWS = """
select sheet_row, cells from imports.job_failed_rows
where job_id = $1 and sheet_row > $2 order by sheet_row limit $3
"""
ERRORS_OF_ROWS = """
select sheet_row, message from imports.job_errors
where job_id = $1 and sheet_row between $2 and $3 order by sheet_row, seq
"""


@dataclass(frozen=True)
class Upload:
    """A spreadsheet handed in for import, and who handed it in."""

    import_id: UUID
    tenant_id: str
    actor: str
    filename: str | None
    dry_run: bool
    content: bytes


class QueueFull(Exception):
    """The tenant has as many imports waiting as the importer allows."""


async def store(pool: asyncpg.Pool, upload: Upload) -> None:
    """Hand the file to the importer: it stores the file and the queued job in one statement;
    QueueFull when the tenant already has too many waiting."""
    try:
        await pool.fetchval(
            SUBMIT,
            upload.import_id,
            upload.tenant_id,
            upload.actor,
            upload.filename,
            upload.dry_run,
            upload.content,
        )
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == QUEUE_FULL:
            raise QueueFull(str(exc)) from exc
        raise


async def find(pool: asyncpg.Pool, tenant_id: str, import_id: UUID) -> ImportJob | None:
    """The tenant's job with its first problems in row order; None if the tenant has none."""
    row = await pool.fetchrow(JOB, tenant_id, import_id)
    if row is None:
        return None
    job = dict(row)
    cut, deleted = job.pop("report_cut"), job.pop("report_deleted_at")
    errors = await pool.fetch(ERRORS, import_id, MAX_LISTED_ERRORS + 1)
    cut = cut or (deleted is not None and job["rows_failed"] > 0)
    return ImportJob(
        **job,
        errors=[RowError(**dict(e)) for e in errors[:MAX_LISTED_ERRORS]],
        errors_truncated=len(errors) > MAX_LISTED_ERRORS or cut,
    )


@dataclass(frozen=True)
class Origin:
    """Who submitted a job, as the API stored it, and the state the importer has it in."""

    tenant_id: str
    actor: str
    state: JobState
    dry_run: bool


async def origin(pool: asyncpg.Pool, import_id: UUID) -> Origin | None:
    """Any tenant's job by its id, for the `commands` process to check a batch against it."""
    row = await pool.fetchrow(ORIGIN, import_id)
    if row is None:
        return None
    return Origin(row["tenant_id"], row["actor"], JobState(row["state"]), row["dry_run"])


async def headers(pool: asyncpg.Pool, import_id: UUID) -> list[str]:
    """The file's headers, in its column order, as the job's failed rows carry them."""
    return [r["header"] for r in await pool.fetch(HEADERS, import_id)]


async def report_deleted_at(pool: asyncpg.Pool, import_id: UUID) -> datetime | None:
    """When retention deleted the job's failed rows and errors, if it did."""
    deleted: datetime | None = await pool.fetchval(REPORT_DELETED, import_id)
    return deleted


async def exists(pool: asyncpg.Pool, tenant_id: str, import_id: UUID) -> bool:
    """Whether the tenant has this job."""
    return bool(await pool.fetchval(EXISTS, tenant_id, import_id))


@dataclass(frozen=True)
class FailedRow:
    sheet_row: int
    cells: list[tuple[str, str | None]]
    messages: list[str]


async def failed_rows(pool: asyncpg.Pool, import_id: UUID) -> AsyncIterator[list[FailedRow]]:
    """Every failed row of a job in sheet order, with all its messages, a page at a time."""
    after = 0
    while True:
        rows = await pool.fetch(FAILED_ROWS, import_id, after, PAGE_ROWS)
        if not rows:
            return
        first, last = rows[0]["sheet_row"], rows[-1]["sheet_row"]
        messages: dict[int, list[str]] = {}
        for e in await pool.fetch(ERRORS_OF_ROWS, import_id, first, last):
            messages.setdefault(e["sheet_row"], []).append(e["message"])
        yield [
            FailedRow(r["sheet_row"], cells_in_order(r["cells"]), messages.get(r["sheet_row"], []))
            for r in rows
        ]
        if len(rows) < PAGE_ROWS:
            return
        after = last


def cells_in_order(cells: list[list[Any]]) -> list[tuple[str, str | None]]:
    """A failed row's cells, stored as `[[header, text], ...]` in the file's column order."""
    return [(str(header), None if text is None else str(text)) for header, text in cells]


# --- bulk changes (contracts/bulk.py): jobs of kind `bulk`, migration 0004 -------------------

SUBMIT_BULK = "select imports.submit_bulk($1, $2, $3, $4, $5::uuid[])"
BULK_ORIGIN = """
select tenant_id, actor, state, kind, action from imports.job_states where id = $1
"""
BULK_JOB = """
select id, state, action, rows_total, rows_processed, rows_created as rows_changed,
       rows_skipped as rows_unchanged, rows_failed as rows_refused, position, message,
       created_at, finished_at, report_cut, report_deleted_at
from imports.job_states where tenant_id = $1 and id = $2 and kind = 'bulk'
"""
# A refused row's one cell is its subscription's id (services/importer/bulk.py); the list's
# read model names it as it is now.
REFUSED = """
with refused as (
    select e.sheet_row, e.seq, e.message, (f.cells -> 0 ->> 1)::uuid as subscription_id
    from imports.job_errors e
    join imports.job_failed_rows f on f.job_id = e.job_id and f.sheet_row = e.sheet_row
    where e.job_id = $2
    order by e.sheet_row, e.seq limit $3
)
select r.subscription_id, s.unique_id, s.name, r.message as reason
from refused r
left join read.subscriptions s on s.tenant_id = $1 and s.id = r.subscription_id
order by r.sheet_row, r.seq
"""


@dataclass(frozen=True)
class BulkSubmission:
    """A bulk change handed in: the subscriptions it is for and its action (as JSON)."""

    job_id: UUID
    tenant_id: str
    actor: str
    action: dict[str, Any]
    subscription_ids: list[UUID]


async def store_bulk(pool: asyncpg.Pool, job: BulkSubmission) -> None:
    """Hand a bulk change to the importer as a queued job with its rows, in one statement;
    QueueFull when the tenant already has too many jobs waiting."""
    try:
        await pool.fetchval(
            SUBMIT_BULK, job.job_id, job.tenant_id, job.actor, job.action, job.subscription_ids
        )
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == QUEUE_FULL:
            raise QueueFull(str(exc)) from exc
        raise


async def find_bulk(pool: asyncpg.Pool, tenant_id: str, job_id: UUID) -> BulkJob | None:
    """The tenant's bulk job with its first refused subscriptions; None if it has none."""
    row = await pool.fetchrow(BULK_JOB, tenant_id, job_id)
    if row is None:
        return None
    job = dict(row)
    cut, deleted = job.pop("report_cut"), job.pop("report_deleted_at")
    refused = await pool.fetch(REFUSED, tenant_id, job_id, MAX_LISTED_ERRORS + 1)
    cut = cut or (deleted is not None and job["rows_refused"] > 0)
    return BulkJob(
        **job,
        refused=[RefusedRow(**dict(r)) for r in refused[:MAX_LISTED_ERRORS]],
        refused_truncated=len(refused) > MAX_LISTED_ERRORS or cut,
    )


@dataclass(frozen=True)
class BulkOrigin:
    """A job as the API stored it, for the `commands` process to check a bulk batch against."""

    tenant_id: str
    actor: str
    state: JobState
    kind: str
    action: dict[str, Any] | None


async def bulk_origin(pool: asyncpg.Pool, job_id: UUID) -> BulkOrigin | None:
    """Any tenant's job by its id, with its kind and action."""
    row = await pool.fetchrow(BULK_ORIGIN, job_id)
    if row is None:
        return None
    return BulkOrigin(
        row["tenant_id"], row["actor"], JobState(row["state"]), row["kind"], row["action"]
    )
