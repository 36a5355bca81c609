"""Routes of bulk import: upload a spreadsheet, follow the job, fetch its errors, the template.

The upload is stored with its job in PostgreSQL and answered 202 at once; the importer worker
(services/importer) does the rest. A JetStream message wakes the worker; it is a hint only: the
worker also polls for queued jobs, so a wake-up that cannot be published loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import IO
from uuid import UUID, uuid4

import asyncpg
import nats
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from nats.aio.client import Client as NATS

from contracts.imports import ImportJob
from contracts.spreadsheet import COLUMNS, SHEET_NAME, header_key
from contracts.subjects import import_queued_subject
from services.subscription.access.tokens import Principal
from services.subscription.api.auth import Caller, Writer
from services.subscription.api.deps import AppSettings, Pool
from services.subscription.api.problems import Problem
from services.subscription.api.uploads import Spreadsheet, read_upload
from services.subscription.read import imports as import_jobs
from services.subscription.read.imports import Upload
from services.subscription.sheets.files import (
    XLSX_MEDIA_TYPE,
    SheetFile,
    attachment,
    file_chunks,
    file_size,
)
from services.subscription.sheets.template import template

log = logging.getLogger(__name__)
router = APIRouter(prefix="/imports", tags=["imports"])

WAKE_SECONDS = 2.0
ERROR_HEADER = "Error"

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "dry_run": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=202,
    summary="Upload a spreadsheet (.xlsx) to import; answers at once with the job's id",
    openapi_extra=UPLOAD_BODY,
)
async def upload(
    request: Request, principal: Writer, pool: Pool, settings: AppSettings
) -> JSONResponse:
    sheet = await read_upload(request, settings.max_upload_bytes)
    import_id = await queue(request, principal, pool, sheet)
    return JSONResponse(
        {"import_id": str(import_id)},
        status_code=202,
        headers={"Location": f"{request.url.path}/{import_id}"},
    )


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
    await import_jobs.store(pool, job)
    log.info(
        "import queued",
        extra={"import_id": str(job.import_id), "bytes": len(job.content), "dry_run": job.dry_run},
    )
    await _wake(request, job.import_id)
    return job.import_id


# Declared before `/{import_id}`, which would otherwise take `template.xlsx` for an id.
@router.get(
    "/template.xlsx",
    summary="The import template, with instructions and the allowed statuses",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
)
async def template_xlsx(principal: Caller, settings: AppSettings) -> Response:
    return await template_response(settings.max_upload_bytes)


async def template_response(max_upload_bytes: int) -> Response:
    """The template as a download (the admin pages serve it too)."""
    content = await asyncio.to_thread(template, max_upload_bytes)
    return Response(
        content, media_type=XLSX_MEDIA_TYPE, headers=attachment("subscriptions-template.xlsx")
    )


@router.get("/{import_id}", summary="The state of an import job")
async def job(import_id: UUID, principal: Caller, pool: Pool) -> ImportJob:
    found = await import_jobs.find(pool, principal.tenant_id, import_id)
    if found is None:
        raise Problem(404, f"import {import_id} not found", slug="not-found")
    return found


@router.get(
    "/{import_id}/errors.xlsx",
    summary="The failed rows with an Error column, to fix and upload again",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
)
async def errors_xlsx(import_id: UUID, principal: Caller, pool: Pool) -> StreamingResponse:
    if not await import_jobs.exists(pool, principal.tenant_id, import_id):
        raise Problem(404, f"import {import_id} not found", slug="not-found")
    return await errors_response(pool, import_id)


async def errors_response(pool: asyncpg.Pool, import_id: UUID) -> StreamingResponse:
    """The failed rows of a job (checked to be the caller's) as a download."""
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
                str(state.settings.nats_url),
                connect_timeout=1,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
            )
    connection: NATS = state.nats
    return connection
