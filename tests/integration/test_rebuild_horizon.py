"""A rebuild reads every event stored before it began, even while an older transaction anywhere
on the server holds the commit-safe horizon back: it waits, rather than swapping in read models
that miss them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg

from contracts import Metadata
from contracts.directory import ContactRegistered
from services.projections.rebuild import rebuild
from services.subscription.write.eventstore import EventStore, StreamAppend
from tests.conftest import tenant


async def test_a_rebuild_waits_for_events_behind_an_older_transaction(
    pool: asyncpg.Pool, database_url: str
) -> None:
    t, contact = tenant(), uuid4()
    older = await asyncpg.connect(database_url)
    transaction = older.transaction()
    await transaction.start()
    await older.fetchval("select pg_current_xact_id()")  # an xid older than the append's
    try:
        event = ContactRegistered(name="Behind the horizon")
        append = StreamAppend(
            t, contact, "contact", 0, [event], Metadata(actor="test"), datetime.now(UTC)
        )
        await EventStore(pool).append([append])
        rebuilding = asyncio.create_task(rebuild(pool, ["directory"], 1000))
        await asyncio.sleep(1.0)
        assert not rebuilding.done(), "the rebuild finished without the event it cannot read yet"
    finally:
        await transaction.rollback()
        await older.close()
    await asyncio.wait_for(rebuilding, 60)
    found = await pool.fetchval(
        "select name from read.directory where tenant_id = $1 and id = $2", t, contact
    )
    assert found == "Behind the horizon"
