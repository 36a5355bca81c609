"""Exporting the subscription list as CSV or XLSX: the list's filters, every matching row.

Both formats stream with flat memory, page by page as the pages are read: PostgreSQL writes each
CSV page (read.exports.csv_pages); an XLSX file is zipped as its sheet's XML is written
(sheets.streamed), its first bytes sent before the first page is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.spreadsheet import EXPORT_COLUMNS, SHEET_NAME
from contracts.subscription import Status
from services.subscription.read import subscriptions as views
from services.subscription.read.exports import csv_pages, pages, row_values
from services.subscription.read.queries import Sort, parse_sort
from services.subscription.sheets.files import (
    BOM,
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    attachment,
    csv_bytes,
)
from services.subscription.sheets.streamed import StreamedSheet


@dataclass(frozen=True)
class Selection:
    """What the list would show: its filters and its order."""

    filters: dict[str, Any]
    sort: Sort


@dataclass(frozen=True)
class Download:
    """A file to send: its bytes as they come, its media type and its headers."""

    chunks: AsyncIterator[bytes]
    media_type: str
    headers: dict[str, str]


def selection(
    status: list[Status] | None = None,
    engineer_id: UUID | None = None,
    organization_id: UUID | None = None,
    contact_id: UUID | None = None,
    q: str | None = None,
    sort: str | None = None,
    overdue: bool | None = None,
    plan_id: UUID | None = None,
) -> Selection:
    """The list's filters and order; ValueError names a sort that is not one."""
    filters = {
        "status": [s.value for s in status] if status else None,
        "engineer_id": engineer_id,
        "organization_id": organization_id,
        "contact_id": contact_id,
        "q": q.strip() if q else None,
        "overdue": overdue,
        "plan_id": plan_id,
    }
    return Selection(filters, parse_sort(sort, views.SORTS, views.DEFAULT_SORT))


def csv_download(pool: asyncpg.Pool, tenant_id: str, selected: Selection) -> Download:
    """The tenant's selected rows as CSV (UTF-8 with BOM), written as they are read."""
    return Download(_csv(pool, tenant_id, selected), CSV_MEDIA_TYPE, attachment(_name("csv")))


async def xlsx_download(pool: asyncpg.Pool, tenant_id: str, selected: Selection) -> Download:
    """The tenant's selected rows as an XLSX workbook, written as it is sent."""
    return Download(_xlsx(pool, tenant_id, selected), XLSX_MEDIA_TYPE, attachment(_name("xlsx")))


async def _csv(pool: asyncpg.Pool, tenant_id: str, selected: Selection) -> AsyncIterator[bytes]:
    yield BOM + csv_bytes([EXPORT_COLUMNS])
    async for text in csv_pages(pool, tenant_id, selected.filters, selected.sort):
        yield text.encode()


async def _xlsx(pool: asyncpg.Pool, tenant_id: str, selected: Selection) -> AsyncIterator[bytes]:
    sheet = StreamedSheet(SHEET_NAME, EXPORT_COLUMNS)
    yield sheet.start()
    async for rows in pages(pool, tenant_id, selected.filters, selected.sort):
        # A page is tens of milliseconds of CPU: in a thread, the event loop serves others.
        if chunk := await asyncio.to_thread(sheet.rows, [row_values(r) for r in rows]):
            yield chunk
    yield sheet.finish()


def _name(extension: str) -> str:
    return f"subscriptions-{datetime.now(UTC):%Y-%m-%d}.{extension}"
