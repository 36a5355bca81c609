"""The import pages: upload a spreadsheet, follow the job's progress, see and fetch its errors.

The upload goes through the same reading and queueing as the API's (http/uploads.py, imports.py);
the importer worker does the rest and the job page polls its state as JSON.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from contracts.imports import JobState
from services.subscription.http import imports
from services.subscription.http.problem import Problem
from services.subscription.http.uploads import read_upload
from services.subscription.read import imports as import_jobs
from services.subscription.web.pages import render, see_other
from services.subscription.web.session import CSRF_FIELD, PageError, SignedIn, Writer, check_csrf

router = APIRouter(prefix="/admin/imports", include_in_schema=False)
UPLOAD_PATH = router.prefix
FINAL = {JobState.COMPLETED, JobState.FAILED}


@router.get("/new")
async def new_form(request: Request, principal: Writer) -> Response:
    return render(request, "import_new.html")


@router.post("")
async def upload(request: Request, principal: Writer) -> Response:
    state = request.app.state

    def csrf(form: FormData) -> None:
        check_csrf(request, form.get(CSRF_FIELD))

    try:
        sheet = await read_upload(request, state.settings.max_upload_bytes, csrf)
        # Inside: a tenant with too many imports waiting is told so on the form (429).
        import_id = await imports.queue(request, principal, state.pool, sheet)
    except Problem as problem:
        errors = {e["pointer"].lstrip("/"): e["detail"] for e in problem.errors or []}
        return render(
            request, "import_new.html", problem.status, errors=errors, message=problem.detail
        )
    return see_other(f"{router.prefix}/{import_id}")


@router.get("/template.xlsx")
async def template(request: Request, principal: SignedIn) -> Response:
    return await imports.template_response(request.app.state.settings.max_upload_bytes)


@router.get("/{import_id:uuid}.json")
async def job_state(request: Request, import_id: UUID, principal: SignedIn) -> Response:
    job = await _job(request, principal.tenant_id, import_id)
    return JSONResponse(job.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get("/{import_id:uuid}/errors.xlsx")
async def errors_xlsx(request: Request, import_id: UUID, principal: SignedIn) -> Response:
    await _job(request, principal.tenant_id, import_id)
    return await imports.errors_response(request.app.state.pool, import_id)


@router.get("/{import_id:uuid}")
async def job_page(request: Request, import_id: UUID, principal: SignedIn) -> Response:
    job = await _job(request, principal.tenant_id, import_id)
    return render(request, "import_job.html", job=job, final=job.state in FINAL)


async def _job(request: Request, tenant_id: str, import_id: UUID) -> Any:
    job = await import_jobs.find(request.app.state.pool, tenant_id, import_id)
    if job is None:
        raise PageError(404, "Not found", "There is no such import.")
    return job
