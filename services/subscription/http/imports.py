"""The import's HTTP pieces both entry points serve: queueing an upload, the downloads.

The upload is stored with its job in one statement (the importer's `imports.submit`) and the
importer is woken over JetStream; the wake-up is a hint only: the worker also polls for queued
jobs, so a wake-up that cannot be published loses nothing. A tenant with as many imports waiting
as the importer allows gets 429 with Retry-After; the errors.xlsx of a job whose report the
importer's retention deleted is 410 Gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import IO
from uuid import UUID, uuid4

import asyncpg
import nats
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from nats.aio.client import Client as NATS

from contracts.spreadsheet import COLUMNS, SHEET_NAME, header_key
from contracts.subjects import import_queued_subject
from plumbing.broker import HEARTBEAT, servers
from services.subscription.access.tokens import Principal
from services.subscription.http.problem import Problem
from services.subscription.http.uploads import Spreadsheet
from services.subscription.read import imports as import_jobs
from services.subscription.read.imports import QueueFull, Upload
from services.subscription.sheets.files import (
    XLSX_MEDIA_TYPE,
    SheetFile,
    attachment,
    file_chunks,
    file_size,
)
from services.subscription.sheets.template import template

log = logging.getLogger(__name__)

WAKE_SECONDS = 2.0
ERROR_HEADER = "Error"
# A client refused for a full queue tries again after this long (an import takes seconds to
# minutes).
QUEUE_FULL_RETRY_SECONDS = 60


async def queue(
    request: Request, principal: Principal, pool: asyncpg.Pool, sheet: Spreadsheet
) -> UUID:
    """Store the upload as a queued job and wake the importer; the job's id."""
    job = Upload(
        import_id=uuid4(),
        tenant_id=principal.tenant_id,
        actor=principal.name,
        filename=sheet.filename,
        dry_run=sheet.dry_run,
        content=sheet.content,
    )
    try:
        await import_jobs.store(pool, job)
    except QueueFull as exc:
        log.info("import refused: queue full", extra={"tenant_id": job.tenant_id, "why": str(exc)})
        raise Problem(
            429,
            "too many imports waiting; retry when one finishes",
            slug="too-many-imports",
            headers={"Retry-After": str(QUEUE_FULL_RETRY_SECONDS)},
        ) from exc
    log.info(
        "import queued",
        extra={"import_id": str(job.import_id), "bytes": len(job.content), "dry_run": job.dry_run},
    )
    await _wake(request, job.import_id)
    return job.import_id


async def template_response(max_upload_bytes: int) -> Response:
    """The template as a download (the admin pages serve it too)."""
    content = await asyncio.to_thread(template, max_upload_bytes)
    return Response(
        content, media_type=XLSX_MEDIA_TYPE, headers=attachment("subscriptions-template.xlsx")
    )


async def errors_response(pool: asyncpg.Pool, import_id: UUID) -> StreamingResponse:
    """The failed rows of a job (checked to be the caller's) as a download; 410 once retention
    deleted them."""
    deleted = await import_jobs.report_deleted_at(pool, import_id)
    if deleted is not None:
        raise Problem(
            410,
            f"the error report of import {import_id} was deleted on {deleted:%Y-%m-%d}, as old"
            " reports are; the job's counts remain",
            slug="report-deleted",
        )
    workbook = await _errors_workbook(pool, import_id)
    headers = {
        **attachment(f"import-{import_id}-errors.xlsx"),
        "Content-Length": str(file_size(workbook)),
    }
    return StreamingResponse(file_chunks(workbook), media_type=XLSX_MEDIA_TYPE, headers=headers)


async def _errors_workbook(pool: asyncpg.Pool, import_id: UUID) -> IO[bytes]:
    """The failed rows under the file's own headers, plus every message of the row in `Error`.

    An `Error` column the file already had (a re-uploaded error report) is replaced. Without
    failed rows the headers are the template's.
    """
    headers = [h for h in await import_jobs.headers(pool, import_id) if not _is_error(h)]
    columns = headers or list(COLUMNS)
    sheet = await asyncio.to_thread(SheetFile, SHEET_NAME, [*columns, ERROR_HEADER])
    try:
        async for page in import_jobs.failed_rows(pool, import_id):
            rows = []
            for failed in page:
                cells = dict(failed.cells)
                rows.append([*(cells.get(h) for h in columns), "\n".join(failed.messages)])
            await asyncio.to_thread(sheet.append, rows)
        return await asyncio.to_thread(sheet.save)
    except BaseException:
        sheet.discard()
        raise


def _is_error(header: str) -> bool:
    return header_key(header) == header_key(ERROR_HEADER)


async def wake(request: Request, job_id: UUID) -> None:
    """Wake the importer for a job just stored (an upload's or a bulk change's)."""
    await _wake(request, job_id)


async def _wake(request: Request, import_id: UUID) -> None:
    """Publish the worker's wake-up; a failure is logged, never the caller's error."""
    settings = request.app.state.settings
    payload = json.dumps({"import_id": str(import_id)}).encode()
    try:
        async with asyncio.timeout(WAKE_SECONDS):
            nc = await _connection(request)
            await nc.jetstream().publish(
                import_queued_subject(settings.namespace),
                payload,
                timeout=WAKE_SECONDS,
                headers={"Nats-Msg-Id": str(import_id)},
            )
    except Exception as exc:
        log.warning(
            "import wake-up not published; the importer will find the job when it polls",
            extra={"import_id": str(import_id), "error": repr(exc)},
        )


async def _connection(request: Request) -> NATS:
    """The API process's NATS connection (shared with /readyz), connected on first use."""
    state = request.app.state
    lock = getattr(state, "nats_connecting", None)
    if lock is None:
        lock = state.nats_connecting = asyncio.Lock()
    async with lock:
        if state.nats is None or state.nats.is_closed:
            state.nats = await nats.connect(
                servers=servers(state.settings.nats_url),
                connect_timeout=1,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                **HEARTBEAT,
            )
    connection: NATS = state.nats
    return connection
