"""Routes of bulk changes: submit one action over many subscriptions, follow the job.

`POST /subscriptions/bulk` fixes the subscriptions (the ids given, or every one the list's filter
matches now), stores them as a queued job of the importer's and answers 202 at once with the
job's id and a Location of its state; the importer and the `commands` process do the rest, one
command per subscription (usecases/bulk.py). `GET /subscriptions/bulk/{job_id}` is the job's
progress and the subscriptions it refused, with why.
"""

from __future__ import annotations

import logging
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from contracts.bulk import BulkJob
from services.subscription.api.auth import Caller, Writer
from services.subscription.api.deps import MinPosition, Pool, Reads, fresh
from services.subscription.api.problems import READ_ONE, Problem, problems
from services.subscription.api.schemas import Out
from services.subscription.http.imports import QUEUE_FULL_RETRY_SECONDS, wake
from services.subscription.read import imports as jobs
from services.subscription.usecases import bulk
from services.subscription.usecases.bulk import BulkIn, QueueFull

log = logging.getLogger(__name__)
router = APIRouter(prefix="/subscriptions/bulk", tags=["bulk changes"])


class BulkQueued(Out):
    """A bulk change stored as a queued job."""

    job_id: UUID
    rows_total: int = Field(description="the subscriptions it is for")


@router.post(
    "",
    status_code=202,
    summary="Change the status of, or assign an engineer to, many subscriptions as a job",
    description=(
        "Give `subscription_ids` (at most 10,000) or `filter` (the list's filters; at most "
        f"{bulk.MAX_BULK_ROWS:,} matches), and the `action`: `{{type: status, status, reason}}` "
        "or `{type: engineer, engineer_id}`. Answers at once; follow the job at Location. Each "
        "subscription is changed by its own idempotent command, recorded with the job's id as "
        "the events' `import_id`; those the rules refuse are listed in the job with the reason."
    ),
    response_model=BulkQueued,
    responses=problems(400, 401, 403, 413, 422, 429, 503),
)
async def submit(
    body: BulkIn,
    request: Request,
    principal: Writer,
    pool: Pool,
    reads: Reads,
    min_position: MinPosition = None,
) -> JSONResponse:
    await fresh(reads, "subscriptions", min_position)
    try:
        queued = await bulk.submit(pool, principal.tenant_id, principal.name, body)
    except QueueFull as exc:
        raise Problem(
            429,
            "too many jobs waiting; retry when one finishes",
            slug="too-many-jobs",
            headers={"Retry-After": str(QUEUE_FULL_RETRY_SECONDS)},
        ) from exc
    log.info(
        "bulk change queued",
        extra={"import_id": str(queued.job_id), "rows_total": queued.rows_total},
    )
    await wake(request, queued.job_id)
    return JSONResponse(
        {"job_id": str(queued.job_id), "rows_total": queued.rows_total},
        status_code=202,
        headers={"Location": f"{request.url.path}/{queued.job_id}"},
    )


@router.get(
    "/{job_id}",
    summary="The state of a bulk change: progress, and the subscriptions refused with why",
    response_model=BulkJob,
    responses=problems(*READ_ONE),
)
async def job(job_id: UUID, principal: Caller, pool: Pool) -> BulkJob:
    found = await jobs.find_bulk(pool, principal.tenant_id, job_id)
    if found is None:
        raise Problem(404, f"bulk job {job_id} not found", slug="not-found")
    return found
