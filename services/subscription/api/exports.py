"""Export of the subscription list as CSV or XLSX: the list's filters, every matching row.

Registered before the `/subscriptions/{id}` routes, which would otherwise take `export.csv` for
an id.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from contracts.subscription import Status
from services.subscription.api.auth import Caller
from services.subscription.api.deps import (
    MinPosition,
    OnPlan,
    Overdue,
    Pool,
    Reads,
    SortParam,
    bad_query,
    fresh,
)
from services.subscription.api.problems import READ, problems
from services.subscription.sheets.files import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from services.subscription.usecases import exports
from services.subscription.usecases.exports import Download, Selection

router = APIRouter(prefix="/subscriptions", tags=["export"])
FILE = {"schema": {"type": "string", "format": "binary"}}


async def selection(
    status: Annotated[list[Status] | None, Query()] = None,
    engineer_id: UUID | None = None,
    organization_id: UUID | None = None,
    contact_id: UUID | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Text in name, unique ID, contact or organization"),
    ] = None,
    sort: SortParam = None,
    overdue: Overdue = None,
    plan_id: OnPlan = None,
) -> Selection:
    """The list's filters and sort, parsed as `GET /subscriptions` parses them."""
    try:
        return exports.selection(
            status, engineer_id, organization_id, contact_id, q, sort, overdue, plan_id
        )
    except ValueError as exc:
        raise bad_query("sort", str(exc)) from None


Selected = Annotated[Selection, Depends(selection)]


@router.get(
    "/export.csv",
    summary="Export the list as CSV (UTF-8 with BOM)",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV_MEDIA_TYPE: FILE}}, **problems(*READ)},
)
async def export_csv(
    principal: Caller,
    reads: Reads,
    pool: Pool,
    selected: Selected,
    min_position: MinPosition = None,
) -> StreamingResponse:
    await fresh(reads, "subscriptions", min_position)
    return _streamed(exports.csv_download(pool, principal.tenant_id, selected))


@router.get(
    "/export.xlsx",
    summary="Export the list as an XLSX workbook",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX_MEDIA_TYPE: FILE}}, **problems(*READ)},
)
async def export_xlsx(
    principal: Caller,
    reads: Reads,
    pool: Pool,
    selected: Selected,
    min_position: MinPosition = None,
) -> StreamingResponse:
    await fresh(reads, "subscriptions", min_position)
    return _streamed(await exports.xlsx_download(pool, principal.tenant_id, selected))


def _streamed(download: Download) -> StreamingResponse:
    return StreamingResponse(
        download.chunks, media_type=download.media_type, headers=download.headers
    )
