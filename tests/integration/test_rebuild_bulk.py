"""A rebuild's bulk load (COPY, writes in the background, refs kept in memory) against the real
PostgreSQL: it leaves what the live worker leaves, and a failed write stops it for what it is."""

from __future__ import annotations

import asyncpg
import pytest

from contracts import subscription as sev
from services.projections.bulk import WriteFailed
from services.projections.bulk import Writer as BulkWriter
from services.projections.rebuild import build_shadows, drop_shadows
from tests.conftest import tenant
from tests.helpers import until
from tests.integration.test_projections import (
    TABLES,
    Writer,
    catch_up,
    caught_up,
    differences,
    horizon_passed,
    live,
    scenario,
)


async def test_a_bulk_load_in_tiny_batches_equals_the_live_tables(pool: asyncpg.Pool) -> None:
    t = tenant()
    w = Writer(pool, t)
    ids = await scenario(w)
    # Later events of subscriptions created batches before, renames of entries shown by rows
    # already copied, and a subscription pointing at an entry registered after it.
    late = await w.subscribe("SUB-900", "Late", contact_id=ids["jane"], engineer_id=ids["bob"])
    await w.edit("contact", ids["jane"], name=("Jane Smith", "Jane Late"))
    await w.write(
        "subscription",
        late,
        sev.SubscriptionStatusChanged(from_status=sev.Status.ACTIVE, to_status=sev.Status.INACTIVE),
    )
    acme2 = await w.register("organization", name="Acme Two")
    await w.edit("subscription", late, organization_id=(None, acme2), name=("Late", "Later"))
    await catch_up(live(pool, batch_size=5), pool)
    await until(lambda: caught_up(pool))
    await until(lambda: horizon_passed(pool))

    await build_shadows(pool, batch_size=3)
    try:
        assert await differences(pool) == dict.fromkeys(TABLES, 0)
    finally:
        await drop_shadows(pool)
    row = await pool.fetchrow(
        "select name, status, contact_name, organization_name from read.subscriptions"
        " where tenant_id = $1 and id = $2",
        t,
        late,
    )
    assert tuple(row) == ("Later", "Inactive", "Jane Late", "Acme Two")


async def test_a_failed_background_write_is_reported_by_the_next_one(pool: asyncpg.Pool) -> None:
    writer = BulkWriter(pool)
    try:
        await writer.submit(lambda conn: conn.execute("select 1 / 0"))
        with pytest.raises(WriteFailed, match="DivisionByZero"):
            await writer.submit(lambda conn: conn.execute("select 1"))
        with pytest.raises(WriteFailed):
            await writer.wait()
    finally:
        await writer.close()
    # The connection went back to the pool, outside any transaction.
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
