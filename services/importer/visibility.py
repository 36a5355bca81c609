"""Waiting until a read model has applied every event up to a position.

The same test as the subscription service's `queries.REACHED` (services never import each
other): a projection has reached P when no committed event at or below P lies past its
checkpoint in commit-safe order. A position beyond every committed event is not reached yet.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

REACHED = """
with checkpoint as (
    select coalesce(max(txid), '0'::xid8) as txid, coalesce(max(position), 0) as position
    from read.checkpoints where projection = $1
)
select $2 <= (select coalesce(max(position), 0) from events.events) and not exists (
    select 1 from events.events e, checkpoint c
    where (e.txid, e.position) > (c.txid, c.position) and e.position <= $2
)
"""


async def wait_until_reached(
    pool: asyncpg.Pool, projection: str, position: int, wait_seconds: float
) -> bool:
    """Whether `projection` reached `position` within `wait_seconds` (True at once for 0)."""
    if position <= 0:
        return True
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while not await pool.fetchval(REACHED, projection, position):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    return True
