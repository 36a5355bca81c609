"""Queries of the directory: contacts, organizations, engineers, service contracts."""

from __future__ import annotations

from datetime import datetime
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

COLUMNS = """id, kind, name, number, title, email, phone, address, starts_on, ends_on, terms,
    active, version, created_at, updated_at"""

ONE = f"select {COLUMNS} from read.directory where tenant_id = $1 and kind = $2 and id = $3"

FIELDS = {
    "contact": ("name", "email", "phone", "address"),
    "organization": ("name", "email", "phone", "address"),
    "engineer": ("name", "email"),
    "service_contract": ("number", "title", "starts_on", "ends_on", "terms"),
}


async def get_entry(
    pool: asyncpg.Pool, tenant_id: str, kind: str, entry_id: UUID
) -> dict[str, Any] | None:
    """One directory entry of the tenant."""
    row = await pool.fetchrow(ONE, tenant_id, kind, entry_id)
    return item(kind, row) if row else None


async def list_entries(
    pool: asyncpg.Pool,
    tenant_id: str,
    kind: str,
    q: str | None,
    active: bool | None,
    sort: Sort,
    cursor: str | None,
    limit: int,
) -> Page:
    """One page of the tenant's entries of one kind."""
    where, args = ["tenant_id = $1", "kind = $2"], [tenant_id, kind]
    if q:
        args.append(like_pattern(q))
        n = len(args)
        where.append(
            f"(lower(name) like ${n} or lower(coalesce(email, '')) like ${n}"
            f" or lower(coalesce(number, '')) like ${n})"
        )
    if active is not None:
        args.append(active)
        where.append(f"active = ${len(args)}")
    if cursor:
        value, row_id = decode_cursor(cursor)
        args += [datetime.fromisoformat(value) if sort.column != "name" else value, row_id]
        where.append(sort.after(len(args) - 1, len(args)))
    args.append(limit + 1)
    sql = (
        f"select {COLUMNS} from read.directory where {' and '.join(where)}"
        f" order by {sort.order_by} limit ${len(args)}"
    )
    rows = await pool.fetch(sql, *args)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last[sort.column], last["id"])
    return Page([item(kind, r) for r in rows[:limit]], next_cursor)


def item(kind: str, row: asyncpg.Record) -> dict[str, Any]:
    """An entry in the API's field names for its kind."""
    fields = {name: row[name] for name in FIELDS[kind]}
    return {
        "id": row["id"],
        **fields,
        "active": row["active"],
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


REFERABLE = """
select id, kind, name, number, email, active from read.directory where tenant_id = $1
"""


async def referable_entries(pool: asyncpg.Pool, tenant_id: str) -> list[asyncpg.Record]:
    """Every entry of the tenant with what a spreadsheet may name it by (import references)."""
    return await pool.fetch(REFERABLE, tenant_id)
