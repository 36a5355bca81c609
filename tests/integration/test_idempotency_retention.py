"""Idempotency keys are forgotten after their retention, oldest first, in short batches."""

from __future__ import annotations

import asyncpg

from services.subscription.write import idempotency
from tests.conftest import tenant


async def test_only_keys_past_the_retention_are_forgotten(pool: asyncpg.Pool) -> None:
    t = tenant()
    insert = """
    insert into events.idempotency_keys (tenant_id, key, request_hash, outcome, body, created_at)
    select $1, 'k' || n, 'h', 'created', '{}'::jsonb, now() - make_interval(days => $2)
    from generate_series(1, $3) n
    """
    await pool.execute(insert, t, 10, 7)
    await pool.execute(insert.replace("'k' || n", "'new' || n"), t, 1, 3)
    pruned = await idempotency.prune(pool, older_than_seconds=7 * 86400, batch=3)
    assert pruned >= 7  # other tests' old keys may go too; this tenant's old ones all do
    left = await pool.fetch("select key from events.idempotency_keys where tenant_id = $1", t)
    assert sorted(r["key"] for r in left) == ["new1", "new2", "new3"]
