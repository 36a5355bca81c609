"""What /readyz and /metrics read: the schemas' presence, projection lag and dead letters."""

from __future__ import annotations

import asyncpg

from plumbing.eventlog import projection_lag

SCHEMA_PRESENT = """
select to_regclass('events.events') is not null and to_regclass('read.subscriptions') is not null
"""
DEAD_LETTERS = "select projection, count(*) from read.dead_letters group by projection"

__all__ = ["dead_letter_counts", "projection_lag", "schema_present"]


async def schema_present(conn: asyncpg.Connection | asyncpg.Pool) -> bool:
    """Whether the event store and the read models' tables exist."""
    return bool(await conn.fetchval(SCHEMA_PRESENT))


async def dead_letter_counts(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, int]:
    """Per projection: how many events it gave up on."""
    return {row["projection"]: row["count"] for row in await conn.fetch(DEAD_LETTERS)}
