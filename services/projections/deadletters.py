"""read.dead_letters: the events each projection gave up on, skipped from then on (rebuilds too).

The table is the projections' own; the API's /metrics and `status` count its rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg

from plumbing.eventlog import Executor, StoredEvent

SKIPPED = "select event_id from read.dead_letters where projection = $1"
IS_RECORDED = "select 1 from read.dead_letters where projection = $1 and event_id = $2"
RECORD = """
insert into read.dead_letters (projection, event_id, position, error, attempts)
values ($1, $2, $3, $4, $5)
on conflict do nothing
returning 1
"""
COUNTS = """
select projection, count(*) as dead_letters from read.dead_letters
group by projection order by projection
"""

Announce = Callable[[str, StoredEvent, str, int], Awaitable[None]]
"""(projection, event, error, attempts): tell the world an event was given up on."""


async def skipped(executor: Executor, projection: str) -> set[UUID]:
    """The events a projection gave up on."""
    return {r["event_id"] for r in await executor.fetch(SKIPPED, projection)}


async def is_recorded(executor: Executor, projection: str, event_id: UUID) -> bool:
    """Whether a projection gave up on an event (perhaps in another worker)."""
    return bool(await executor.fetchval(IS_RECORDED, projection, event_id))


async def record(
    pool: asyncpg.Pool,
    projection: str,
    event: StoredEvent,
    error: str,
    attempts: int,
    announce: Announce | None = None,
) -> bool:
    """Record that a projection gives up on an event and announce it once; False if it was."""
    async with pool.acquire() as conn, conn.transaction():
        # A worker recording the same event at once waits on this row, then finds it recorded:
        # one announcement. An announcement that fails rolls the record back, to be tried again.
        row = (projection, event.event_id, event.position, error, attempts)
        if not await conn.fetchval(RECORD, *row):
            return False
        if announce is not None:
            await announce(projection, event, error, attempts)
    return True


async def counts(executor: Executor) -> dict[str, int]:
    """Per projection: how many events it gave up on."""
    return {r["projection"]: r["dead_letters"] for r in await executor.fetch(COUNTS)}
