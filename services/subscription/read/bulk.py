"""The subscriptions a bulk change is for: every id the list's filters match, in list order."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read.exports import page_sql
from services.subscription.read.queries import parse_sort
from services.subscription.read.subscriptions import DEFAULT_SORT, SORTS


async def matching_ids(
    pool: asyncpg.Pool, tenant_id: str, filters: dict[str, Any], limit: int
) -> list[UUID]:
    """The ids of the tenant's subscriptions the filters match, at most `limit`, in the list's
    default order (the export's statement, one pass over the sort index)."""
    sql, args = page_sql(tenant_id, filters, parse_sort(None, SORTS, DEFAULT_SORT), None, limit)
    rows = await pool.fetch(f"select id from ({sql}) matched", *args)
    return [r["id"] for r in rows]


async def count_matching(
    pool: asyncpg.Pool, tenant_id: str, filters: dict[str, Any], limit: int
) -> int:
    """How many of the tenant's subscriptions the filters match, counted up to `limit`."""
    sql, args = page_sql(tenant_id, filters, parse_sort(None, SORTS, DEFAULT_SORT), None, limit)
    count: int = await pool.fetchval(f"select count(*) from ({sql}) matched", *args)
    return count
