"""read.dead_letters: the events each projection gave up on, skipped from then on (rebuilds too).

The table is the projections' own; the API's /metrics and `status` count its rows, and
`python -m services.projections dead-letters list|replay` shows and replays them (`replay`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
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

# Tenant and type from the event store (the dead letter names the event only).
LIST = """
select d.event_id, d.position, d.projection, e.tenant_id, e.type, d.error, d.attempts,
       d.created_at
from read.dead_letters d left join events.events e on e.event_id = d.event_id
where ($1::text is null or d.projection = $1) and ($2::uuid is null or d.event_id = $2)
order by d.position, d.projection
"""
RESOLVED = "delete from read.dead_letters where projection = $1 and event_id = any($2::uuid[])"
STILL_FAILING = """
update read.dead_letters set error = $3, attempts = attempts + 1
where projection = $1 and event_id = $2
"""


@dataclass(frozen=True)
class DeadLetter:
    """An event a projection gave up on, and why."""

    event_id: UUID
    position: int
    projection: str
    tenant_id: str | None
    type: str | None
    error: str
    attempts: int
    created_at: datetime


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


async def listing(
    executor: Executor, projection: str | None = None, event_id: UUID | None = None
) -> list[DeadLetter]:
    """The dead letters, oldest event first, of one projection or event if named."""
    return [DeadLetter(*row) for row in await executor.fetch(LIST, projection, event_id)]


async def settle(
    conn: asyncpg.Connection,
    projection: str,
    replayed: Collection[UUID],
    still_failing: Mapping[tuple[str, UUID], str],
) -> None:
    """After a replay: forget the dead letters applied now, keep the others with the new error."""
    failed = {e: error for (p, e), error in still_failing.items() if p == projection}
    await conn.execute(RESOLVED, projection, [e for e in replayed if e not in failed])
    for event_id, error in failed.items():
        await conn.execute(STILL_FAILING, projection, event_id, error)
