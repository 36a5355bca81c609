"""How far each projection is behind the event store, and how many events it gave up on.

For /metrics (the API copies these statements; they only read read.checkpoints,
read.dead_letters and events.events):

- LAG: per projection, the events after its checkpoint in commit-safe order (committed events
  not applied yet) and the age in seconds of the oldest of them (0 when there is none).
- DEAD_LETTERS: per projection, the events recorded in read.dead_letters (skipped for good).
- REACHED: whether a projection has applied every event with position <= $2, for
  read-your-writes waits on `min_position` (a checkpoint on position alone cannot say this).
"""

from __future__ import annotations

import asyncpg

LAG = """
select c.projection,
       count(e.position) as behind,
       coalesce(extract(epoch from now() - min(e.occurred_at)), 0)::float8 as oldest_age
from read.checkpoints c
left join events.events e on (e.txid, e.position) > (c.txid, c.position)
group by c.projection
order by c.projection
"""

DEAD_LETTERS = """
select projection, count(*) as dead_letters from read.dead_letters
group by projection order by projection
"""

# A position beyond every committed event is not reached yet: events may still be appended below.
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


async def projection_lag(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, tuple[int, float]]:
    """Per projection: (events behind, age in seconds of the oldest unapplied event)."""
    return {r["projection"]: (r["behind"], r["oldest_age"]) for r in await conn.fetch(LAG)}


async def dead_letter_counts(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, int]:
    """Per projection: how many events it dead-lettered."""
    return {r["projection"]: r["dead_letters"] for r in await conn.fetch(DEAD_LETTERS)}


async def reached(conn: asyncpg.Connection | asyncpg.Pool, projection: str, position: int) -> bool:
    """Whether the projection has applied every committed event with position <= `position`."""
    return bool(await conn.fetchval(REACHED, projection, position))
