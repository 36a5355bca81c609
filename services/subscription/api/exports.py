"""Export of the subscription list as CSV or XLSX: the list's filters, every matching row.

Both formats stream with flat memory: CSV is written page by page as the pages are read; XLSX
rows go to a temporary file (openpyxl write-only, in a worker thread) that is streamed once it
is complete and is gone when closed. Registered before the `/subscriptions/{id}` routes, which
would otherwise take `export.csv` for an id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from contracts.spreadsheet import EXPORT_COLUMNS, SHEET_NAME
from contracts.subscription import Status
from services.subscription.api.auth import Caller
from services.subscription.api.deps import AppSettings, MinPosition, Pool, SortParam, fresh
from services.subscription.api.directory import bad_query
from services.subscription.read import subscriptions as views
from services.subscription.read.exports import pages, row_values
from services.subscription.read.queries import Sort, parse_sort
from services.subscription.sheets.files import (
    BOM,
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    SheetFile,
    attachment,
    csv_bytes,
    file_chunks,
    file_size,
)

router = APIRouter(prefix="/subscriptions", tags=["export"])


@dataclass(frozen=True)
class Selection:
    """What the list would show: its filters and its order."""

    filters: dict[str, Any]
    sort: Sort


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
) -> Selection:
    """The list's filters and sort, parsed as `GET /subscriptions` parses them."""
    try:
        order = parse_sort(sort, views.SORTS, views.DEFAULT_SORT)
    except ValueError as exc:
        raise bad_query("sort", str(exc)) from None
    filters = {
        "status": [s.value for s in status] if status else None,
        "engineer_id": engineer_id,
        "organization_id": organization_id,
        "contact_id": contact_id,
        "q": q.strip() if q else None,
    }
    return Selection(filters, order)


Selected = Annotated[Selection, Depends(selection)]


@router.get(
    "/export.csv",
    summary="Export the list as CSV (UTF-8 with BOM)",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV_MEDIA_TYPE: {}}}},
)
async def export_csv(
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    selected: Selected,
    min_position: MinPosition = None,
) -> StreamingResponse:
    await fresh(pool, settings, "subscriptions", min_position)
    return csv_response(pool, principal.tenant_id, selected)


@router.get(
    "/export.xlsx",
    summary="Export the list as an XLSX workbook",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
)
async def export_xlsx(
    principal: Caller,
    pool: Pool,
    settings: AppSettings,
    selected: Selected,
    min_position: MinPosition = None,
) -> StreamingResponse:
    await fresh(pool, settings, "subscriptions", min_position)
    return await xlsx_response(pool, principal.tenant_id, selected)


def csv_response(pool: asyncpg.Pool, tenant_id: str, selected: Selection) -> StreamingResponse:
    """The tenant's selected rows as a CSV download (the admin pages serve it too)."""
    body = _csv(pool, tenant_id, selected)
    return StreamingResponse(body, media_type=CSV_MEDIA_TYPE, headers=attachment(_name("csv")))


async def xlsx_response(
    pool: asyncpg.Pool, tenant_id: str, selected: Selection
) -> StreamingResponse:
    """The tenant's selected rows as an XLSX download (the admin pages serve it too)."""
    workbook = await _xlsx(pool, tenant_id, selected)
    headers = {**attachment(_name("xlsx")), "Content-Length": str(file_size(workbook))}
    return StreamingResponse(file_chunks(workbook), media_type=XLSX_MEDIA_TYPE, headers=headers)


async def _csv(pool: asyncpg.Pool, tenant_id: str, selected: Selection) -> AsyncIterator[bytes]:
    yield BOM + csv_bytes([EXPORT_COLUMNS])
    async for rows in pages(pool, tenant_id, selected.filters, selected.sort):
        yield csv_bytes(row_values(r) for r in rows)


async def _xlsx(pool: asyncpg.Pool, tenant_id: str, selected: Selection) -> IO[bytes]:
    sheet = await asyncio.to_thread(SheetFile, SHEET_NAME, EXPORT_COLUMNS)
    try:
        async for rows in pages(pool, tenant_id, selected.filters, selected.sort):
            await asyncio.to_thread(sheet.append, [row_values(r) for r in rows])
        return await asyncio.to_thread(sheet.save)
    except BaseException:
        sheet.discard()
        raise


def _name(extension: str) -> str:
    return f"subscriptions-{datetime.now(UTC):%Y-%m-%d}.{extension}"
