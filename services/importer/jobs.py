"""Import jobs in PostgreSQL, the truth about every job (schema `imports`, owned here).

A worker claims a job by moving it to `running` and counting an attempt; while it works, it
renews a lease (`updated_at`). A job left `running` past its lease (the worker crashed, was
killed or lost PostgreSQL) is claimed again, and a job claimed more than the allowed number of
times fails with a message instead of crashing workers forever. Every write a worker makes
names the attempt it holds: once another worker has claimed the job, the first one's writes
change nothing and it stops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from contracts.imports import RowError

# Turns across tenants: the tenant with the fewest jobs running goes first, then the one whose
# last claim is oldest, then its oldest job; so one tenant's many or slow files cannot keep
# another's waiting. A running job whose lease ran out is claimed again in the same order.
CLAIM = """
with candidate as (
    select j.id, j.tenant_id from imports.jobs j
    left join imports.tenant_turns t on t.tenant_id = j.tenant_id
    where j.state = 'queued'
       or (j.state = 'running' and j.updated_at < now() - make_interval(secs => $1))
    order by (select count(*) from imports.jobs r
              where r.tenant_id = j.tenant_id and r.state = 'running'
                and r.updated_at >= now() - make_interval(secs => $1)),
             t.last_claimed_at nulls first, j.created_at
    limit 1
    for update of j skip locked
), turn as (
    insert into imports.tenant_turns (tenant_id, last_claimed_at)
    select tenant_id, now() from candidate
    on conflict (tenant_id) do update set last_claimed_at = excluded.last_claimed_at
)
update imports.jobs j
set state = 'running', attempts = j.attempts + 1, started_at = coalesce(j.started_at, now()),
    updated_at = now()
from candidate where j.id = candidate.id
returning j.id, j.tenant_id, j.actor, j.dry_run, j.attempts, j.resume_row, j.position,
          j.message, j.rows_reported, j.report_bytes, j.report_cut, j.kind, j.action
"""
FILE = "select content from imports.files where job_id = $1"
STATE = "select state from imports.jobs where id = $1"

# Every write below holds the job only while it is still this attempt's.
_HELD = "id = $1 and attempts = $2 and state = 'running'"
HEARTBEAT = f"update imports.jobs set updated_at = now() where {_HELD} returning true"
TOTAL = f"update imports.jobs set rows_total = $3, updated_at = now() where {_HELD}"
NOTE = f"update imports.jobs set message = $3, updated_at = now() where {_HELD}"
FAIL = f"""
update imports.jobs set state = 'failed', message = $3, finished_at = now(), updated_at = now()
where {_HELD} returning true
"""
# A report cut at its bound says so in the job's message (and `report_cut`).
COMPLETE = f"""
update imports.jobs
set state = 'completed', position = greatest(position, $3), finished_at = now(),
    updated_at = now(),
    message = case when report_cut and kind = 'bulk' then format(
        '%s subscriptions were refused; the first %s are kept with their reason.',
        to_char(rows_failed, 'FM999,999,999'), to_char(rows_reported, 'FM999,999,999'))
    when report_cut then format(
        '%s rows failed; the report keeps the first %s of them: fix those and upload the file'
        ' again to see the rest (the rows already imported are skipped).',
        to_char(rows_failed, 'FM999,999,999'), to_char(rows_reported, 'FM999,999,999')) end
where {_HELD} returning true
"""
# A worker stopping on purpose hands the job back at once, and the attempt does not count.
RELEASE = f"""
update imports.jobs set state = 'queued', attempts = attempts - 1, updated_at = now()
where {_HELD}
"""
# One batch's outcome in one statement: its rows' errors and cells, the counters and where to
# resume. The inserts are guarded like the update, so a superseded attempt records nothing.
PROGRESS = f"""
with held as (
    select 1 from imports.jobs where {_HELD}
), errors as (
    insert into imports.row_errors (job_id, sheet_row, seq, column_name, message)
    select $1, e.sheet_row, e.seq, e.column_name, e.message
    from unnest($3::int[], $4::int[], $5::text[], $6::text[])
         as e(sheet_row, seq, column_name, message)
    where exists (select 1 from held)
    on conflict do nothing
), failed as (
    insert into imports.failed_rows (job_id, sheet_row, cells)
    select $1, f.sheet_row, f.cells::jsonb
    from unnest($7::int[], $8::text[]) as f(sheet_row, cells)
    where exists (select 1 from held)
    on conflict do nothing
)
update imports.jobs
set rows_processed = rows_processed + $9 + $10 + $11, rows_created = rows_created + $9,
    rows_skipped = rows_skipped + $10, rows_failed = rows_failed + $11, resume_row = $12,
    position = greatest(position, $13), rows_reported = rows_reported + cardinality($7::int[]),
    report_bytes = report_bytes + $14, report_cut = report_cut or $15 > 0, updated_at = now()
where {_HELD} returning true
"""


class Superseded(Exception):
    """Another attempt holds the job now (or it finished): this one must stop."""


@dataclass(frozen=True)
class Job:
    """A claimed job, as the attempt that holds it sees it."""

    id: UUID
    tenant_id: str
    actor: str
    dry_run: bool
    attempts: int
    resume_row: int
    position: int
    message: str | None
    # The report so far: the failed rows kept, their size, whether later ones were left out.
    rows_reported: int = 0
    report_bytes: int = 0
    report_cut: bool = False
    # `import` (a spreadsheet) or `bulk` (one action over subscriptions, see bulk.py).
    kind: str = "import"
    action: dict[str, Any] | None = None


@dataclass
class Failure:
    """A failed row: its problems and its cells as the file has them."""

    row: int
    errors: list[RowError]
    cells: list[tuple[str, str | None]]


@dataclass(frozen=True)
class Progress:
    """What one answered batch adds to the job: `failures` are kept for its report, and
    `unreported` more rows failed past the report's bound (counted, not kept)."""

    created: int
    skipped: int
    failures: list[Failure]
    resume_row: int
    position: int
    unreported: int = 0
    report_bytes: int = 0


async def claim(pool: asyncpg.Pool, lease_seconds: float) -> Job | None:
    """The next queued job in the tenants' turns, or a running one whose lease ran out, now
    held by the caller."""
    row = await pool.fetchrow(CLAIM, float(lease_seconds))
    return Job(**dict(row)) if row else None


async def file_of(pool: asyncpg.Pool, job: Job) -> bytes | None:
    content: bytes | None = await pool.fetchval(FILE, job.id)
    return content


async def state_of(pool: asyncpg.Pool, job_id: UUID) -> str | None:
    state: str | None = await pool.fetchval(STATE, job_id)
    return state


async def heartbeat(pool: asyncpg.Pool, job: Job) -> None:
    """Renew the lease; Superseded when the job is no longer this attempt's."""
    if not await pool.fetchval(HEARTBEAT, job.id, job.attempts):
        raise Superseded(str(job.id))


async def set_total(pool: asyncpg.Pool, job: Job, total: int) -> None:
    await pool.execute(TOTAL, job.id, job.attempts, total)


async def note(pool: asyncpg.Pool, job: Job, message: str) -> None:
    """Say why the attempt stopped; the job is claimed again once its lease runs out."""
    await pool.execute(NOTE, job.id, job.attempts, message[:1000])


async def fail(pool: asyncpg.Pool, job: Job, message: str) -> None:
    await pool.execute(FAIL, job.id, job.attempts, message)


async def complete(pool: asyncpg.Pool, job: Job, position: int) -> None:
    if not await pool.fetchval(COMPLETE, job.id, job.attempts, position):
        raise Superseded(str(job.id))


async def release(pool: asyncpg.Pool, job: Job) -> None:
    await pool.execute(RELEASE, job.id, job.attempts)


async def record(pool: asyncpg.Pool, job: Job, progress: Progress) -> None:
    """Store one batch's outcome; Superseded when the job is no longer this attempt's."""
    errors = [(f.row, seq, e.column, e.message) for f in progress.failures
              for seq, e in enumerate(f.errors)]  # fmt: skip
    cells = [(f.row, json.dumps(f.cells)) for f in progress.failures]
    held = await pool.fetchval(
        PROGRESS,
        job.id,
        job.attempts,
        [e[0] for e in errors],
        [e[1] for e in errors],
        [e[2] for e in errors],
        [e[3] for e in errors],
        [c[0] for c in cells],
        [c[1] for c in cells],
        progress.created,
        progress.skipped,
        len(progress.failures) + progress.unreported,
        progress.resume_row,
        progress.position,
        progress.report_bytes,
        progress.unreported,
    )
    if not held:
        raise Superseded(str(job.id))
