"""Queries of the directory: contacts, organizations, engineers, service contracts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.subscription.read.list_sql import BY_TRIGRAMS
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

# Entries a search walks in sort order before it takes the trigram index: a word in at least
# ~1% of them settles its page in the walk (2-6 ms at 100,000 contacts); a rarer one reads its
# matches through the index (measured: README, "Pickers").
WALK = 2_000

# pg_trgm takes its trigrams from runs of three letters or digits; without one its index has
# nothing to look up and would read every entry of every tenant.
TRIGRAM = re.compile(r"[^\W_]{3}")

# What an entry is found by, as one expression: the trigram index `directory_search` (projections
# migration 0004) is built over exactly this text, so `like '%text%'` reads only the matches.
SEARCH = "lower(name || ' ' || coalesce(email, '') || ' ' || coalesce(number, ''))"

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
    walk: int = WALK,
) -> Page:
    """One page of the tenant's entries of one kind; a search as in `_searched`."""
    where = ["tenant_id = $1", "kind = $2"]
    args: list[Any] = [tenant_id, kind]
    if active is not None:
        args.append(active)
        where.append(f"active = ${len(args)}")
    if cursor:
        value, row_id = decode_cursor(cursor)
        args += [datetime.fromisoformat(value) if sort.column != "name" else value, row_id]
        where.append(sort.after(len(args) - 1, len(args)))
    if q:
        rows = await _searched(pool, where, args, sort, q, walk, limit + 1)
    else:
        rows = await pool.fetch(_page(where, sort, len(args) + 1), *args, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last[sort.column], last["id"])
    return Page([item(kind, r) for r in rows[:limit]], next_cursor)


async def _searched(
    pool: asyncpg.Pool,
    where: list[str],
    args: list[Any],
    sort: Sort,
    q: str,
    walk: int,
    rows: int,
) -> list[asyncpg.Record]:
    """Matches of a search: among the first `walk` entries in sort order when they hold a page
    (a common word, or a short list), else through the trigram index (a rare word: it reads
    only its matches). Either costs at most the walk or the number of matches.
    """
    n, pattern = len(args), like_pattern(q)
    first = (
        f"select *, {SEARCH} like ${n + 1} as hit, walked = ${n + 2} as last from ("
        f" select *, row_number() over (order by {sort.order_by}) as walked from ("
        f"  {_page(where, sort, n + 2)}) page) numbered"
        f" where {SEARCH} like ${n + 1} or walked = ${n + 2}"
        f" order by {sort.order_by} limit ${n + 3}"
    )
    walked = await pool.fetch(first, *args, pattern, walk, rows + 1)
    hits = [row for row in walked if row["hit"]]
    if len(hits) >= rows or not any(row["last"] for row in walked):
        return hits[:rows]
    if TRIGRAM.search(pattern):
        found = f"{SEARCH} like ${n + 1}"  # the trigram index reads the matches
    else:
        # Nothing for the trigram index to look up (`ja`): an expression it does not serve, so
        # the tenant's entries of the kind are read once in table order (`directory_list`,
        # ~50 ms at 100,000) instead of the whole trigram index or the name index row by row.
        found = f"position(${n + 1} in {SEARCH}) > 0"
        pattern = q.lower()
    matches = _page([*where, found], sort, n + 2)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(BY_TRIGRAMS)  # bitmap scans only: never the name index row by row
        found_rows: list[asyncpg.Record] = await conn.fetch(matches, *args, pattern, rows)
    return found_rows


def _page(where: list[str], sort: Sort, limit: int) -> str:
    return (
        f"select {COLUMNS} from read.directory where {' and '.join(where)}"
        f" order by {sort.order_by} limit ${limit}"
    )


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
