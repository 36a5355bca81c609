"""Queries of the subscription list, the summary tab and the history tab."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from . import inner_queries
from .queries import Page, Sort, decode_cursor, encode_cursor, like_pattern

SORTS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "name": "name",
    "unique_id": "unique_number",
    "status": "status",
}
DEFAULT_SORT = "-created_at"

COLUMNS = """id, unique_id, unique_number, name, status, description, notification_level,
    contact_id, contact_name, organization_id, organization_name, engineer_id, engineer_name,
    service_contract_id, service_contract_number, service_contract_title,
    version, created_at, updated_at"""

ONE = f"select {COLUMNS} from read.subscriptions where tenant_id = $1 and id = $2"
EXISTS = "select exists (select 1 from read.subscriptions where tenant_id = $1 and id = $2)"

RECENT_ACTIVITIES = """
select version, type, actor, occurred_at, summary from read.history
where tenant_id = $1 and stream_id = $2
order by version desc limit $3
"""

HISTORY = """
select event_id, type, version, position, actor, occurred_at, summary, data from read.history
where tenant_id = $1 and stream_id = $2 and ($3::int is null or version < $3)
order by version desc limit $4
"""

FILTERS = {
    "status": "status = any(${}::text[])",
    "engineer_id": "engineer_id = ${}",
    "organization_id": "organization_id = ${}",
    "contact_id": "contact_id = ${}",
    "q": "search like ${}",
}


async def list_subscriptions(
    pool: asyncpg.Pool,
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    cursor: str | None,
    limit: int,
) -> Page:
    """One page of the tenant's subscriptions."""
    where, args = ["tenant_id = $1"], [tenant_id]
    for name, template in FILTERS.items():
        value = filters.get(name)
        if value in (None, [], ""):
            continue
        args.append(like_pattern(value) if name == "q" else value)
        where.append(template.format(len(args)))
    if cursor:
        value, row_id = decode_cursor(cursor)
        args += [_cursor_value(sort.column, value), row_id]
        where.append(sort.after(len(args) - 1, len(args)))
    args.append(limit + 1)
    sql = (
        f"select {COLUMNS} from read.subscriptions where {' and '.join(where)}"
        f" order by {sort.order_by} limit ${len(args)}"
    )
    rows = await pool.fetch(sql, *args)
    items = [item(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last[sort.column], last["id"])
    return Page(items, next_cursor)


async def summary(
    pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID
) -> dict[str, Any] | None:
    """The Summary tab: the subscription, its counts, latest activities and touchpoints."""
    row = await pool.fetchrow(ONE, tenant_id, subscription_id)
    if row is None:
        return None
    recent = await pool.fetch(RECENT_ACTIVITIES, tenant_id, subscription_id, 10)
    return {
        **item(row),
        "counts": await inner_queries.counts(pool, tenant_id, subscription_id),
        "recent_activities": [dict(r) for r in recent],
        "touchpoints": await inner_queries.touchpoints(pool, tenant_id, subscription_id, 10),
    }


async def exists(pool: asyncpg.Pool, tenant_id: str, subscription_id: UUID) -> bool:
    """Whether the tenant's read model holds this subscription."""
    return bool(await pool.fetchval(EXISTS, tenant_id, subscription_id))


async def history(
    pool: asyncpg.Pool, tenant_id: str, stream_id: UUID, cursor: str | None, limit: int
) -> Page:
    """The History tab: every event of the stream, newest first, in words."""
    before = int(decode_cursor(cursor)[0]) if cursor else None
    rows = await pool.fetch(HISTORY, tenant_id, stream_id, before, limit + 1)
    items = [dict(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(rows[limit - 1]["version"], stream_id)
    return Page(items, next_cursor)


def item(row: asyncpg.Record) -> dict[str, Any]:
    """A list item / summary in the API's field names."""
    organization = (
        {"id": row["organization_id"], "name": row["organization_name"]}
        if row["organization_id"]
        else None
    )
    contract = (
        {
            "id": row["service_contract_id"],
            "number": row["service_contract_number"],
            "title": row["service_contract_title"],
        }
        if row["service_contract_id"]
        else None
    )
    return {
        "id": row["id"],
        "unique_id": row["unique_id"],
        "name": row["name"],
        "status": row["status"],
        "description": row["description"],
        "notification_level": row["notification_level"],
        "service_contract": contract,
        "contact": {"id": row["contact_id"], "name": row["contact_name"]},
        "organization": organization,
        "engineer": {"id": row["engineer_id"], "name": row["engineer_name"]},
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _cursor_value(column: str, value: Any) -> Any:
    if column in ("created_at", "updated_at"):
        return datetime.fromisoformat(value)
    if column == "unique_number":
        return int(value)
    return str(value)
