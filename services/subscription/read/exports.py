"""The subscription list for export: every row the list's filters match, in the list's order.

An export reads the whole result in keyset pages: each page is a short statement of its own that
resumes after the previous page's last row, as the list's `next_cursor` does. No connection,
transaction or snapshot is held between pages, so a slow download holds nothing in PostgreSQL
and memory holds one page at a time. Each page walks the sort index from where the last one
stopped, so an export costs one pass over the tenant's list whatever its filters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read.queries import Sort, like_pattern

PAGE_ROWS = 5_000

SELECTED = """id, unique_id, unique_number, name, status, description, contact_name,
    organization_name, engineer_name, service_contract_number, created_at, updated_at"""
EQUALS = ("engineer_id", "organization_id", "contact_id")


def page_sql(
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    after: tuple[Any, UUID] | None,
    rows: int,
) -> tuple[str, list[Any]]:
    """One page's SQL and its arguments: the list's filters, and only rows after `after`."""
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [f"tenant_id = {arg(tenant_id)}"]
    where += [f"{name} = {arg(filters[name])}" for name in EQUALS if filters.get(name)]
    statuses = sorted(set(filters.get("status") or ()))
    if len(statuses) == 1:
        where.append(f"status = {arg(statuses[0])}")
    elif statuses:
        where.append(f"status = any({arg(statuses)}::text[])")
    if filters.get("q"):
        where.append(f"search like {arg(like_pattern(filters['q']))}")
    if after is not None:
        args += after
        where.append(sort.after(len(args) - 1, len(args)))
    sql = (
        f"select {SELECTED} from read.subscriptions where {' and '.join(where)}"
        f" order by {sort.order_by} limit {arg(rows)}"
    )
    return sql, args


async def pages(
    pool: asyncpg.Pool,
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    page_rows: int = PAGE_ROWS,
) -> AsyncIterator[list[asyncpg.Record]]:
    """Every matching row in sort order, a page at a time."""
    after: tuple[Any, UUID] | None = None
    while True:
        sql, args = page_sql(tenant_id, filters, sort, after, page_rows)
        rows = await pool.fetch(sql, *args)
        if rows:
            yield rows
        if len(rows) < page_rows:
            return
        last = rows[-1]
        after = (last[sort.column], last["id"])


def row_values(row: asyncpg.Record) -> tuple[str | None, ...]:
    """One subscription in the order of contracts.spreadsheet.EXPORT_COLUMNS.

    References are shown as the names the importer resolves them by; a service contract by
    its number.
    """
    return (
        row["unique_id"],
        row["name"],
        row["contact_name"],
        row["organization_name"],
        row["status"],
        row["engineer_name"],
        row["service_contract_number"],
        row["description"],
        iso_utc(row["created_at"]),
    )


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC to the second: `2026-11-28T20:37:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
