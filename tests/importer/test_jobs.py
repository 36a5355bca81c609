"""Jobs in PostgreSQL: claiming, leases, fencing of a superseded attempt, the attempt limit."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from contracts.imports import RowError
from services.importer import jobs
from services.importer.config import Settings
from services.importer.jobs import Failure, Progress, Superseded
from services.importer.worker import Worker

LEASE = 2.0


async def queued(pool: asyncpg.Pool, tenant_id: str = "t-jobs", **state: object) -> uuid.UUID:
    """A stored job (and its file), as the API stores it; `state` overrides columns."""
    job_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "insert into imports.jobs (id, tenant_id, actor, file_size) values ($1, $2, 'me', 3)",
            job_id,
            tenant_id,
        )
        await conn.execute("insert into imports.files values ($1, 'abc')", job_id)
        for column, value in state.items():
            await conn.execute(
                f"update imports.jobs set {column} = $2 where id = $1", job_id, value
            )
    return job_id


async def test_claims_share_the_queue_without_overlap(lab_pool: asyncpg.Pool) -> None:
    first, second = await queued(lab_pool), await queued(lab_pool)
    claims = await asyncio.gather(*(jobs.claim(lab_pool, LEASE) for _ in range(3)))
    claimed = sorted((c.id for c in claims if c is not None), key=str)
    assert claimed == sorted([first, second], key=str)
    assert claims.count(None) == 1
    assert {c.attempts for c in claims if c} == {1}


async def test_a_running_job_is_claimed_again_only_once_its_lease_ran_out(
    lab_pool: asyncpg.Pool,
) -> None:
    job_id = await queued(lab_pool, state="running", attempts=1)
    assert await jobs.claim(lab_pool, LEASE) is None
    await lab_pool.execute(
        "update imports.jobs set updated_at = now() - interval '1 minute' where id = $1", job_id
    )
    job = await jobs.claim(lab_pool, LEASE)
    assert job is not None
    assert (job.id, job.attempts) == (job_id, 2)


async def test_progress_is_recorded_in_one_statement(lab_pool: asyncpg.Pool) -> None:
    await queued(lab_pool)
    job = await jobs.claim(lab_pool, LEASE)
    assert job is not None
    errors = [RowError(row=3, column="Contact", message="no"), RowError(row=3, message="also")]
    cells = [("Subscription Name", "Fibre"), ("Contact", None)]
    await jobs.record(lab_pool, job, Progress(5, 2, [Failure(3, errors, cells)], 11, 42))
    row = await lab_pool.fetchrow("select * from imports.jobs where id = $1", job.id)
    assert (row["rows_processed"], row["rows_created"], row["rows_skipped"]) == (8, 5, 2)
    assert (row["rows_failed"], row["resume_row"], row["position"]) == (1, 11, 42)
    stored = await lab_pool.fetch(
        "select sheet_row, seq, column_name, message from imports.row_errors where job_id = $1"
        " order by seq",
        job.id,
    )
    assert [tuple(r) for r in stored] == [(3, 0, "Contact", "no"), (3, 1, None, "also")]
    kept = await lab_pool.fetchval(
        "select cells::text from imports.failed_rows where job_id = $1", job.id
    )
    assert json.loads(kept) == [["Subscription Name", "Fibre"], ["Contact", None]]


async def test_a_superseded_attempt_records_nothing(lab_pool: asyncpg.Pool) -> None:
    await queued(lab_pool)
    job = await jobs.claim(lab_pool, LEASE)
    assert job is not None
    await lab_pool.execute(
        "update imports.jobs set updated_at = now() - interval '1 minute' where id = $1", job.id
    )
    taker = await jobs.claim(lab_pool, LEASE)
    assert taker is not None and taker.attempts == 2
    failure = Failure(2, [RowError(row=2, message="x")], [])
    with pytest.raises(Superseded):
        await jobs.record(lab_pool, job, Progress(1, 0, [failure], 3, 7))
    with pytest.raises(Superseded):
        await jobs.heartbeat(lab_pool, job)
    with pytest.raises(Superseded):
        await jobs.complete(lab_pool, job, 7)
    assert (
        await lab_pool.fetchval("select count(*) from imports.row_errors where job_id = $1", job.id)
        == 0
    )
    row = await lab_pool.fetchrow("select state, rows_processed from imports.jobs where id = $1",
                                  job.id)  # fmt: skip
    assert tuple(row) == ("running", 0)


async def test_a_job_that_keeps_stopping_fails_with_a_message(
    lab_pool: asyncpg.Pool, lab_database_url: str, nats_url: str, lab_namespace: str
) -> None:
    settings = Settings(
        database_url=lab_database_url,
        nats_url=nats_url,
        namespace=lab_namespace,
        max_attempts=3,
        lease_seconds=LEASE,
    )
    job_id = await queued(lab_pool, state="running", attempts=3, message="Interrupted: boom")
    await lab_pool.execute(
        "update imports.jobs set updated_at = now() - interval '1 minute' where id = $1", job_id
    )
    worker = Worker(settings)
    worker.pool = lab_pool
    assert await worker._claim() is None
    row = await lab_pool.fetchrow("select state, message from imports.jobs where id = $1", job_id)
    assert tuple(row) == (
        "failed",
        "The import stopped 3 times before it could finish and is not tried again"
        " (last: Interrupted: boom).",
    )
