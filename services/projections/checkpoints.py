"""read.checkpoints: the last event each projection applied, in commit-safe order.

A checkpoint moves only in the transaction that applies the batch it ends, under the projection's
advisory lock: worker replicas and a rebuild's swap take the same lock, so none of them can apply
a batch twice or move a checkpoint past events it did not apply. Other services read the table
through plumbing.eventlog (`reached`, `projection_lag`).
"""

from __future__ import annotations

import asyncpg

from plumbing.eventlog import Checkpoint

LOCK = "select pg_advisory_xact_lock(hashtextextended('wispgate.projection.' || $1, 0))"
# Several projections' locks, in the order given (callers sort the names: no two wait in a cycle).
LOCK_MANY = """
select pg_advisory_xact_lock(hashtextextended('wispgate.projection.' || p, 0))
from unnest($1::text[]) with ordinality as n(p, i) order by i
"""
ENSURE = "insert into read.checkpoints (projection) values ($1) on conflict do nothing"
CURRENT = "select txid::text::bigint, position from read.checkpoints where projection = $1"
CURRENT_MANY = """
select projection, txid::text::bigint, position from read.checkpoints
where projection = any($1::text[])
"""
ADVANCE_MANY = """
update read.checkpoints c set txid = $2::text::xid8, position = $3, updated_at = now()
where c.projection = any($1::text[])
"""
ADVANCE = """
update read.checkpoints set txid = $2::text::xid8, position = $3, updated_at = now()
where projection = $1
"""
SET = """
insert into read.checkpoints (projection, txid, position) values ($1, $2::text::xid8, $3)
on conflict (projection) do update
set txid = excluded.txid, position = excluded.position, updated_at = now()
"""


async def lock(conn: asyncpg.Connection, projection: str) -> None:
    """Hold the projection's advisory lock until the transaction ends."""
    await conn.execute(LOCK, projection)


async def current(conn: asyncpg.Connection, projection: str, *, ensure: bool = False) -> Checkpoint:
    """The projection's checkpoint (its row created at 0 first, with `ensure`)."""
    if ensure:
        await conn.execute(ENSURE, projection)
    return Checkpoint(*await conn.fetchrow(CURRENT, projection))


async def advance(conn: asyncpg.Connection, projection: str, to: Checkpoint) -> None:
    """Move the checkpoint of a projection whose row exists."""
    await conn.execute(ADVANCE, projection, str(to.txid), to.position)


async def replace(conn: asyncpg.Connection, projection: str, to: Checkpoint) -> None:
    """Set the checkpoint, whatever it was (a rebuild's swap)."""
    await conn.execute(SET, projection, str(to.txid), to.position)


async def lock_many(conn: asyncpg.Connection, projections: list[str]) -> None:
    """Hold several projections' advisory locks until the transaction ends (taken sorted)."""
    await conn.execute(LOCK_MANY, sorted(projections))


async def current_many(conn: asyncpg.Connection, projections: list[str]) -> dict[str, Checkpoint]:
    """The checkpoints of projections whose rows exist, by name."""
    rows = await conn.fetch(CURRENT_MANY, projections)
    return {name: Checkpoint(txid, position) for name, txid, position in rows}


async def advance_many(conn: asyncpg.Connection, projections: list[str], to: Checkpoint) -> None:
    """Move the checkpoints of projections whose rows exist to the same event."""
    await conn.execute(ADVANCE_MANY, projections, str(to.txid), to.position)
