"""Queries of the subscription list, the summary tab and the history tab."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read import account as account_queries
from services.subscription.read import inner as inner_queries
from services.subscription.read.list_sql import BY_TRIGRAMS, COLUMNS, Statement
from services.subscription.read.queries import Page, Sort, decode_cursor, encode_cursor

SORTS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "name": "name",
    "unique_id": "unique_number",
    "status": "status",
}
DEFAULT_SORT = "-created_at"

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

# Rows a text search walks in sort order before it takes the trigram index. The walk settles
# the page of any word in at least ~1% of the rows (5,000 rows: 2-5 ms at a million); a rarer
# word costs the walk plus the index over its matches (7,760 matches sorted by name: 28 ms).
WALK = 5_000
# pg_trgm takes its trigrams from runs of letters and digits; a pattern without a run of three
# gives it none to look up, and the trigram index would answer with every row.
TRIGRAM = re.compile(r"[^\W_]{3}")


async def list_subscriptions(
    pool: asyncpg.Pool,
    tenant_id: str,
    filters: dict[str, Any],
    sort: Sort,
    cursor: str | None,
    limit: int,
    walk: int = WALK,
) -> Page:
    """One page of the tenant's subscriptions (query shapes: see list_sql)."""
    after = decode_cursor(cursor) if cursor else None
    statement = partial(Statement, tenant_id, filters, sort, after)
    if filters.get("q"):
        rows = await _searched(pool, statement, filters["q"], walk, limit)
    else:
        plain = statement()
        rows = await pool.fetch(plain.page(COLUMNS, limit + 1), *plain.args)
    items = [item(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last[sort.column], last["id"])
    return Page(items, next_cursor)


async def _searched(
    pool: asyncpg.Pool, statement: Callable[[], Statement], q: str, walk: int, limit: int
) -> list[asyncpg.Record]:
    """A page of text search: the walk when it settles the page, else the trigram index."""
    first = statement()
    rows = await pool.fetch(first.walk(q, walk, limit + 1), *first.args)
    hits = [row for row in rows if row["hit"]]
    if len(hits) > limit or not any(row["last"] for row in rows):
        return hits
    second = statement()
    sql = second.matches(q, limit + 1)
    if not TRIGRAM.search(q):  # the index has nothing to look up: a full walk is no worse
        return await pool.fetch(sql, *second.args)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(BY_TRIGRAMS)
        return await conn.fetch(sql, *second.args)


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
        "scheduled_status_changes": await account_queries.scheduled(
            pool, tenant_id, subscription_id
        ),
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
