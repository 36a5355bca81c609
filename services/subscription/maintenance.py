"""Housekeeping the API process does in the background: forgetting expired idempotency keys.

Every API replica prunes once an hour. Replicas pruning at once only wait on each other's row
locks for a moment: a key is forgotten once whoever deletes it.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from services.subscription.write import idempotency

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0


async def run(pool: asyncpg.Pool, retention_days: float) -> None:
    """Prune every INTERVAL_SECONDS until cancelled; a failed round is logged and retried."""
    while True:
        try:
            pruned = await idempotency.prune(pool, retention_days * 86400)
            if pruned:
                log.info("idempotency keys pruned", extra={"count": pruned})
        except Exception as exc:  # the next round tries again; requests are not affected
            log.warning("idempotency keys not pruned: %r", exc)
        await asyncio.sleep(INTERVAL_SECONDS)
