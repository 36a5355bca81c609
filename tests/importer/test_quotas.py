"""What a tenant's files may make the importer keep and do: a bounded report, a failure of the
file's own at the first attempt, a CPU and a wall-time budget, turns across tenants, a cap on
imports waiting, and retention of files and reports. Real PostgreSQL and NATS; a worker runs in
the test, on the lab database, and timestamps are moved by SQL instead of waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.imports import RowError
from services.importer import retention, run
from services.importer.config import Settings
from services.importer.jobs import Failure, Job, Progress
from services.importer.report import MAX_MESSAGE_CHARS, Report
from services.importer.stream import ensure_stream
from services.importer.worker import Worker
from services.subscription.access import tokens
from services.subscription.app import create_app
from services.subscription.config import Settings as ApiSettings
from services.subscription.read import imports as import_jobs
from tests.conftest import tenant
from tests.helpers import until
from tests.importer.test_jobs import queued
from tests.importer.workbooks import HEADERS, xlsx

LEASE = 2.0
StartWorker = Callable[..., Awaitable[Worker]]


def failing_rows(count: int, status: str = "Bogus") -> list[list[Any]]:
    """Rows every one of which fails in the worker itself (no reference to check over NATS)."""
    return [["", "", "", "", f"{status} {n}", "", "", ""] for n in range(count)]


async def submit(pool: asyncpg.Pool, tenant_id: str, content: bytes = b"abc") -> uuid.UUID:
    """A job stored as the API stores it, through the importer's published function."""
    job_id = uuid.uuid4()
    upload = import_jobs.Upload(job_id, tenant_id, "me", "customers.xlsx", False, content)
    await import_jobs.store(pool, upload)
    return job_id


async def job_row(pool: asyncpg.Pool, job_id: uuid.UUID) -> dict[str, Any]:
    return dict(await pool.fetchrow("select * from imports.jobs where id = $1", job_id))


async def finished(pool: asyncpg.Pool, job_id: uuid.UUID) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        row = await job_row(pool, job_id)
        return row if row["state"] in ("completed", "failed") else None

    return await until(done, 30, 0.05, f"import {job_id} did not finish")


@pytest.fixture
async def start_worker(
    lab_pool: asyncpg.Pool, lab_database_url: str, nats_url: str, lab_namespace: str
) -> AsyncIterator[StartWorker]:
    """Start a worker with some settings of the test's; stopped at the end."""
    await ensure_stream(nats_url, lab_namespace)
    running: list[tuple[asyncio.Event, asyncio.Future[None]]] = []

    async def start(**overrides: Any) -> Worker:
        settings = Settings(
            database_url=lab_database_url,
            nats_url=nats_url,
            namespace=lab_namespace,
            lease_seconds=LEASE,
            poll_interval=0.1,
            visible_wait=0,
            **overrides,
        )
        worker, stop = Worker(settings), asyncio.Event()
        running.append((stop, asyncio.ensure_future(worker.run(stop))))
        return worker

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 30)


# The report, bounded per job.


async def test_a_report_past_its_row_bound_is_cut_and_the_job_completes(
    lab_pool: asyncpg.Pool, start_worker: StartWorker
) -> None:
    job_id = await submit(lab_pool, tenant(), xlsx([HEADERS, *failing_rows(12)]))
    await start_worker(max_error_rows=5, batch_rows=3)
    job = await finished(lab_pool, job_id)
    assert job["state"] == "completed", job
    assert (job["rows_total"], job["rows_processed"], job["rows_failed"]) == (12, 12, 12)
    assert (job["rows_reported"], job["report_cut"]) == (5, True)
    assert job["message"] == (
        "12 rows failed; the report keeps the first 5 of them: fix those and upload the file"
        " again to see the rest (the rows already imported are skipped)."
    )
    kept = await lab_pool.fetch(
        "select distinct sheet_row from imports.row_errors where job_id = $1 order by 1", job_id
    )
    assert [r["sheet_row"] for r in kept] == [2, 3, 4, 5, 6]
    count = "select count(*) from imports.failed_rows where job_id = $1"
    assert await lab_pool.fetchval(count, job_id) == 5
    shown = await import_jobs.find(lab_pool, job["tenant_id"], job_id)
    assert shown is not None and shown.errors_truncated
    assert {e.row for e in shown.errors} == {2, 3, 4, 5, 6}


async def test_a_report_past_its_byte_bound_is_cut_and_long_messages_shortened(
    lab_pool: asyncpg.Pool, start_worker: StartWorker
) -> None:
    long_status = "x" * 3000  # its message quotes it: longer than a message may be
    rows = [*failing_rows(1, long_status), *failing_rows(30)]
    job_id = await submit(lab_pool, tenant(), xlsx([HEADERS, *rows]))
    bound = 8_000
    await start_worker(max_failed_row_bytes=bound, batch_rows=4)
    job = await finished(lab_pool, job_id)
    assert job["state"] == "completed", job
    assert job["rows_failed"] == 31
    assert 1 < job["rows_reported"] < 31 and job["report_cut"]
    assert job["report_bytes"] <= bound
    stored = await lab_pool.fetchval(
        "select sum(octet_length(cells::text)) from imports.failed_rows where job_id = $1", job_id
    )
    assert stored <= bound
    status = await lab_pool.fetchval(
        "select message from imports.row_errors where job_id = $1 and sheet_row = 2"
        " and column_name = 'Status'",
        job_id,
    )
    assert len(status) == MAX_MESSAGE_CHARS and status.endswith("…")


def test_a_resumed_attempt_keeps_a_cut_report_cut() -> None:
    job = Job(uuid.uuid4(), "t", "me", False, 2, 10, 0, None, 3, 900, report_cut=True)
    report = Report.of(job, max_rows=100, max_bytes=10_000)
    failure = Failure(12, [RowError(row=12, message="no")], [("Status", "x")])
    progress = report.bounded(Progress(0, 0, [failure], 13, 0))
    assert (progress.failures, progress.unreported, progress.report_bytes) == ([], 1, 0)


# A failure of the file's own, at the first attempt; the budgets.


@pytest.mark.parametrize(
    "error", [KeyError("sheet1"), ValueError("bad"), RecursionError(), MemoryError()]
)
async def test_an_unexpected_exception_while_reading_fails_at_the_first_attempt(
    lab_pool: asyncpg.Pool,
    start_worker: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
) -> None:
    def broken(*args: object) -> None:
        raise error

    monkeypatch.setattr(run, "scan", broken)
    job_id = await submit(lab_pool, tenant(), xlsx([HEADERS, *failing_rows(3)]))
    await start_worker()
    job = await finished(lab_pool, job_id)
    assert (job["state"], job["attempts"]) == ("failed", 1)
    expected = {
        KeyError: "The file could not be read (KeyError): it may be damaged.",
        ValueError: "The file could not be read (ValueError): it may be damaged.",
        RecursionError: "The file is nested too deeply to be read",
        MemoryError: "The file needs more memory to read than an import may use",
    }[type(error)]
    assert job["message"].startswith(expected), job["message"]


async def test_a_row_that_breaks_the_reading_mid_file_fails_at_the_first_attempt(
    lab_pool: asyncpg.Pool, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = run.records

    def breaking(*args: Any) -> Iterator[Any]:
        for record in real(*args):
            if record.row == 9:
                raise IndexError("deep inside")
            yield record

    monkeypatch.setattr(run, "records", breaking)
    job_id = await submit(lab_pool, tenant(), xlsx([HEADERS, *failing_rows(12)]))
    await start_worker(batch_rows=2)
    job = await finished(lab_pool, job_id)
    assert (job["state"], job["attempts"]) == ("failed", 1)
    assert job["message"].startswith("The file could not be read (IndexError)")
    assert 0 < job["rows_processed"] < 12


async def test_a_failure_outside_the_reading_is_left_to_a_later_attempt(
    lab_pool: asyncpg.Pool, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def away(*args: object) -> None:
        raise ConnectionRefusedError("PostgreSQL is away")

    monkeypatch.setattr(run.jobs, "set_total", away)
    job_id = await submit(lab_pool, tenant(), xlsx([HEADERS, *failing_rows(3)]))
    await start_worker()

    async def noted() -> str | None:
        row = await job_row(lab_pool, job_id)
        return row["message"] if row["message"] else None

    message = await until(noted, 30, 0.05, "no note")
    assert message.startswith("Interrupted, will be tried again")
    assert (await job_row(lab_pool, job_id))["state"] == "running"


async def test_reading_past_the_cpu_budget_fails_the_job(
    lab_pool: asyncpg.Pool, start_worker: StartWorker
) -> None:
    job_id = await submit(lab_pool, tenant(), xlsx([HEADERS, *failing_rows(600)]))
    await start_worker(job_cpu_seconds=0.000_001)
    job = await finished(lab_pool, job_id)
    assert (job["state"], job["attempts"]) == ("failed", 1)
    assert "seconds of processor time: split it into smaller files." in job["message"]
    assert job["rows_processed"] == 0


async def test_an_attempt_past_the_wall_time_budget_fails_the_job(
    lab_pool: asyncpg.Pool, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(*args: object) -> bool:
        await asyncio.sleep(60)
        return True

    monkeypatch.setattr(run.eventlog, "wait_until_reached", never)
    job_id = await submit(lab_pool, tenant(), xlsx([HEADERS, *failing_rows(3)]))
    await start_worker(job_seconds=0.5)
    job = await finished(lab_pool, job_id)
    assert (job["state"], job["attempts"]) == ("failed", 1)
    assert job["message"] == (
        "The import took longer than 0.5 seconds and was stopped: split the file into smaller ones."
    )


# Turns across tenants.


def minutes_ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


async def test_tenants_take_turns(lab_pool: asyncpg.Pool) -> None:
    many, few = tenant(), tenant()
    for n in range(4):  # one tenant uploaded four files first
        await queued(lab_pool, many, created_at=minutes_ago(30 - n))
    for _ in range(2):
        await queued(lab_pool, few)
    claimed = []
    for _ in range(6):
        job = await run.jobs.claim(lab_pool, LEASE)
        assert job is not None
        claimed.append(job.tenant_id)
    assert claimed == [many, few, many, few, many, many]


async def test_a_tenant_with_a_job_running_waits_for_one_without(lab_pool: asyncpg.Pool) -> None:
    busy, other = tenant(), tenant()
    await queued(lab_pool, busy, state="running", attempts=1)
    await queued(lab_pool, busy, created_at=minutes_ago(60))
    waiting = await queued(lab_pool, other)
    job = await run.jobs.claim(lab_pool, LEASE)
    assert job is not None and job.id == waiting


# The cap on imports waiting.


async def test_the_eleventh_waiting_import_of_a_tenant_is_refused(lab_pool: asyncpg.Pool) -> None:
    await retention.publish_quotas(lab_pool, Settings())
    crowded, other = tenant(), tenant()
    first = [await submit(lab_pool, crowded) for _ in range(10)]
    with pytest.raises(import_jobs.QueueFull, match="10 imports are waiting already"):
        await submit(lab_pool, crowded)
    await submit(lab_pool, other)  # another tenant's queue is its own
    # A running job is no longer waiting: the tenant may queue one more.
    await lab_pool.execute("update imports.jobs set state = 'running' where id = $1", first[0])
    await submit(lab_pool, crowded)


async def test_the_cap_holds_against_uploads_at_once(lab_pool: asyncpg.Pool) -> None:
    await retention.publish_quotas(lab_pool, Settings(max_queued_per_tenant=3))
    crowded = tenant()
    outcomes = await asyncio.gather(
        *(submit(lab_pool, crowded) for _ in range(8)), return_exceptions=True
    )
    assert sum(isinstance(o, uuid.UUID) for o in outcomes) == 3
    assert all(isinstance(o, uuid.UUID | import_jobs.QueueFull) for o in outcomes)
    await retention.publish_quotas(lab_pool, Settings())


@pytest.fixture
async def api(
    lab_pool: asyncpg.Pool, lab_database_url: str, nats_url: str, lab_namespace: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process on the lab database, as an admin of a tenant of its own."""
    settings = ApiSettings(
        database_url=lab_database_url, nats_url=nats_url, namespace=lab_namespace, env="test"
    )
    app = create_app(settings)
    token, _ = await tokens.create(lab_pool, "quotas", tenant(), "admin")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            yield client


async def test_the_api_answers_a_full_queue_429_with_retry_after(
    api: httpx.AsyncClient, lab_pool: asyncpg.Pool
) -> None:
    await retention.publish_quotas(lab_pool, Settings(max_queued_per_tenant=2))
    try:
        content = xlsx([HEADERS])
        for _ in range(2):
            response = await api.post("/api/v1/imports", files={"file": ("a.xlsx", content)})
            assert response.status_code == 202, response.text
        response = await api.post("/api/v1/imports", files={"file": ("a.xlsx", content)})
    finally:
        await retention.publish_quotas(lab_pool, Settings())
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == "60"
    assert response.json()["detail"] == "too many imports waiting; retry when one finishes"


# Retention.


async def finished_long_ago(pool: asyncpg.Pool, tenant_id: str, days: int) -> uuid.UUID:
    """A completed job with a file, a failed row and its error, finished `days` ago."""
    job_id = await submit(pool, tenant_id)
    await pool.execute(
        "update imports.jobs set state = 'completed', rows_failed = 1, rows_reported = 1,"
        " finished_at = now() - make_interval(days => $2) where id = $1",
        job_id,
        days,
    )
    await pool.execute(
        'insert into imports.failed_rows values ($1, 2, \'[["Status", "x"]]\')', job_id
    )
    await pool.execute(
        "insert into imports.row_errors values ($1, 2, 0, 'Status', 'Status x is not one')", job_id
    )
    return job_id


async def kept(pool: asyncpg.Pool, job_id: uuid.UUID) -> tuple[bool, bool, bool]:
    """Whether the job still has its file, its failed rows and its errors."""
    row = await pool.fetchrow(
        "select exists (select 1 from imports.files where job_id = $1) as file,"
        " exists (select 1 from imports.failed_rows where job_id = $1) as failed,"
        " exists (select 1 from imports.row_errors where job_id = $1) as errors",
        job_id,
    )
    return (row["file"], row["failed"], row["errors"])


async def test_retention_prunes_old_files_and_reports_and_keeps_recent_ones(
    lab_pool: asyncpg.Pool,
) -> None:
    who = tenant()
    recent, week_old, month_old = [await finished_long_ago(lab_pool, who, d) for d in (1, 8, 31)]
    still_queued = await submit(lab_pool, who)
    await lab_pool.execute(
        "update imports.jobs set created_at = now() - interval '60 days' where id = $1",
        still_queued,
    )
    pruned = await retention.prune(lab_pool, file_days=7, report_days=30)
    assert pruned == retention.Pruned(files=2, reports=1)
    assert await kept(lab_pool, recent) == (True, True, True)
    assert await kept(lab_pool, week_old) == (False, True, True)
    assert await kept(lab_pool, month_old) == (False, False, False)
    assert (await kept(lab_pool, still_queued))[0]
    job = await job_row(lab_pool, month_old)
    assert (job["state"], job["rows_failed"]) == ("completed", 1)  # the job and its counts stay
    assert job["file_deleted_at"] is not None and job["report_deleted_at"] is not None
    assert job["message"] == (
        "The error report was deleted 30 days after the import finished; the counts remain."
    )
    shown = await import_jobs.find(lab_pool, who, month_old)
    assert shown is not None and shown.errors == [] and shown.errors_truncated
    assert await retention.prune(lab_pool, file_days=7, report_days=30) == retention.Pruned(0, 0)


async def test_one_worker_prunes_at_a_time(lab_pool: asyncpg.Pool) -> None:
    async with lab_pool.acquire() as conn, conn.transaction():
        assert await conn.fetchval(retention.LOCK)
        assert await retention.prune(lab_pool, file_days=7, report_days=30) is None
    assert await retention.prune(lab_pool, file_days=7, report_days=30) is not None


async def test_errors_xlsx_of_a_pruned_report_is_gone(
    api: httpx.AsyncClient, lab_pool: asyncpg.Pool
) -> None:
    content = xlsx([HEADERS])
    response = await api.post("/api/v1/imports", files={"file": ("a.xlsx", content)})
    import_id = uuid.UUID(response.json()["import_id"])
    await lab_pool.execute(
        "update imports.jobs set state = 'completed', rows_failed = 1, rows_reported = 1,"
        " finished_at = now() - interval '40 days' where id = $1",
        import_id,
    )
    assert (await api.get(f"/api/v1/imports/{import_id}/errors.xlsx")).status_code == 200
    await retention.prune(lab_pool, file_days=7, report_days=30)
    response = await api.get(f"/api/v1/imports/{import_id}/errors.xlsx")
    assert response.status_code == 410, response.text
    assert "was deleted on" in response.json()["detail"]
    body = (await api.get(f"/api/v1/imports/{import_id}")).json()
    assert (body["rows_failed"], body["errors_truncated"]) == (1, True)
