"""Queries of the plan catalogue (read.plans, built by the projection `plans`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read.queries import (
    Page,
    Sort,
    decode_cursor,
    encode_cursor,
    like_pattern,
)

SORTS = {"name": "name", "created_at": "created_at", "updated_at": "updated_at"}
DEFAULT_SORT = "name"
# What a plan is found by: the trigram index `plans_search` (projections migration 0005) is
# built over exactly this expression.
SEARCH = "lower(name)"

COLUMNS = """id, name, download_max_mbps, upload_max_mbps, download_min_mbps, upload_min_mbps,
    qos_mode, price, currency, cycle, data_cap_gb, retired, retired_reason, version,
    created_at, updated_at"""

ONE = f"select {COLUMNS} from read.plans where tenant_id = $1 and id = $2"


async def get_plan(pool: asyncpg.Pool, tenant_id: str, plan_id: UUID) -> dict[str, Any] | None:
    """One plan of the tenant."""
    row = await pool.fetchrow(ONE, tenant_id, plan_id)
    return item(row) if row else None


async def list_plans(
    pool: asyncpg.Pool,
    tenant_id: str,
    q: str | None,
    retired: bool | None,
    sort: Sort,
    cursor: str | None,
    limit: int,
) -> Page:
    """One page of the tenant's plans, searched by name, retired ones or not."""
    where, args = ["tenant_id = $1"], [tenant_id]
    if retired is not None:
        args.append(retired)
        where.append(f"retired = ${len(args)}")
    if q:
        args.append(like_pattern(q))
        where.append(f"{SEARCH} like ${len(args)}")
    if cursor:
        value, row_id = decode_cursor(cursor)
        args += [datetime.fromisoformat(value) if sort.column != "name" else value, row_id]
        where.append(sort.after(len(args) - 1, len(args)))
    sql = (
        f"select {COLUMNS} from read.plans where {' and '.join(where)}"
        f" order by {sort.order_by} limit ${len(args) + 1}"
    )
    rows = await pool.fetch(sql, *args, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last[sort.column], last["id"])
    return Page([item(r) for r in rows[:limit]], next_cursor)


def item(row: asyncpg.Record) -> dict[str, Any]:
    """A plan in the API's field names, its price a decimal string."""
    plan = dict(row)
    plan["price"] = money(plan["price"])
    return plan


def money(value: Any) -> str:
    """A numeric as a decimal string with at least the cents (`49.90`, `12.3456`)."""
    text = format(Decimal(value), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"
