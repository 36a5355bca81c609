"""Routes of bulk import: upload a spreadsheet, follow the job, fetch its errors, the template.

The upload is stored with its job in PostgreSQL and answered 202 at once; the importer worker
(services/importer) does the rest. A JetStream message wakes the worker; it is a hint only: the
worker also polls for queued jobs, so a wake-up that cannot be published loses nothing.
"""

from __future__ import annotations

import logging
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from contracts.imports import ImportJob
from services.subscription.api.auth import Caller, Writer
from services.subscription.api.deps import AppSettings, Pool
from services.subscription.api.problems import READ, READ_ONE, Problem, problems
from services.subscription.api.schemas import ImportQueued
from services.subscription.http.imports import errors_response, queue, template_response
from services.subscription.http.uploads import read_upload
from services.subscription.read import imports as import_jobs
from services.subscription.sheets.files import (
    XLSX_MEDIA_TYPE,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/imports", tags=["imports"])

FILE = {"schema": {"type": "string", "format": "binary"}}
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
    response_model=ImportQueued,
    responses=problems(400, 401, 403, 413, 415, 422, 429, 503),
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


# Declared before `/{import_id}`, which would otherwise take `template.xlsx` for an id.
@router.get(
    "/template.xlsx",
    summary="The import template, with instructions and the allowed statuses",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: FILE}}, **problems(*READ)},
)
async def template_xlsx(principal: Caller, settings: AppSettings) -> Response:
    return await template_response(settings.max_upload_bytes)


@router.get("/{import_id}", summary="The state of an import job", responses=problems(*READ_ONE))
async def job(import_id: UUID, principal: Caller, pool: Pool) -> ImportJob:
    found = await import_jobs.find(pool, principal.tenant_id, import_id)
    if found is None:
        raise Problem(404, f"import {import_id} not found", slug="not-found")
    return found


@router.get(
    "/{import_id}/errors.xlsx",
    summary="The failed rows with an Error column, to fix and upload again",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX_MEDIA_TYPE: FILE}}, **problems(*READ_ONE, 410)},
)
async def errors_xlsx(import_id: UUID, principal: Caller, pool: Pool) -> StreamingResponse:
    if not await import_jobs.exists(pool, principal.tenant_id, import_id):
        raise Problem(404, f"import {import_id} not found", slug="not-found")
    return await errors_response(pool, import_id)
