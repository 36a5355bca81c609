"""Retention: what finished jobs keep, and for how long; and the quotas imports.submit reads.

A finished job's uploaded file is deleted `IMPORTER_FILE_RETENTION_DAYS` after it finished, its
failed rows and their errors `IMPORTER_REPORT_RETENTION_DAYS` after; the job row stays, with its
counts, and says when each went (`file_deleted_at`, `report_deleted_at`: errors.xlsx of such a
job is 410 Gone). Every worker prunes once per `IMPORTER_RETENTION_INTERVAL`; one at a time, as
each batch's transaction first takes a transaction-scoped advisory lock and a worker that cannot
get it leaves the round to the one that has it. A batch is a few jobs, so that no statement
holds rows, or the lock, for long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from .config import Settings

log = logging.getLogger(__name__)

LOCK = "select pg_try_advisory_xact_lock(hashtextextended('imports.retention', 0))"
FILE_BATCH = 20  # files are up to IMPORTER_MAX_FILE_BYTES each
REPORT_BATCH = 10  # reports are up to IMPORTER_MAX_ERROR_ROWS rows each

DELETE_FILES = """
with old as (
    select id from imports.jobs
    where finished_at is not null and file_deleted_at is null
      and finished_at < now() - $1::float8 * interval '1 day'
    order by finished_at limit $2
    for update skip locked
), files as (
    delete from imports.files f using old where f.job_id = old.id
), bulk as (
    -- A bulk job's subscriptions are its "file".
    delete from imports.bulk_rows b using old where b.job_id = old.id
), marked as (
    update imports.jobs j set file_deleted_at = now() from old where j.id = old.id returning 1
)
select count(*) from marked
"""
# A completed job's message says where its report went; a failed job keeps its reason.
DELETE_REPORTS = """
with old as (
    select id from imports.jobs
    where finished_at is not null and report_deleted_at is null
      and finished_at < now() - $1::float8 * interval '1 day'
    order by finished_at limit $2
    for update skip locked
), errors as (
    delete from imports.row_errors e using old where e.job_id = old.id
), failed as (
    delete from imports.failed_rows f using old where f.job_id = old.id
), marked as (
    update imports.jobs j
    set report_deleted_at = now(),
        message = case when j.state = 'completed' and j.rows_failed > 0 then format(
            'The error report was deleted %s days after the import finished; the counts remain.',
            $1) else j.message end
    from old where j.id = old.id returning 1
)
select count(*) from marked
"""
QUOTAS = "update imports.quotas set max_queued_per_tenant = $1"


@dataclass(frozen=True)
class Pruned:
    files: int
    reports: int


async def prune(pool: asyncpg.Pool, file_days: float, report_days: float) -> Pruned | None:
    """Delete the files and reports past their retention; None if another worker is at it."""
    files = reports = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(LOCK):
                return None
            more_files = await conn.fetchval(DELETE_FILES, float(file_days), FILE_BATCH)
            more_reports = await conn.fetchval(DELETE_REPORTS, float(report_days), REPORT_BATCH)
        files, reports = files + more_files, reports + more_reports
        if more_files < FILE_BATCH and more_reports < REPORT_BATCH:
            break
    if files or reports:
        log.info("imports pruned", extra={"files": files, "reports": reports})
    return Pruned(files, reports)


async def publish_quotas(pool: asyncpg.Pool, settings: Settings) -> None:
    """Hand imports.submit the cap on queued imports per tenant (the API knows no settings)."""
    await pool.execute(QUOTAS, settings.max_queued_per_tenant)
