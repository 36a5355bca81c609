"""Idempotency keys: the first outcome of a command sent with one, remembered in the append
statement (or on its own when the command appended nothing) and recalled for a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class IdempotencyKey:
    """A caller's key for one command, with a hash of the request it came with."""

    tenant_id: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Remember:
    """An idempotency key an append writes in its statement, with the outcome kept under it.

    `outcome` is the caller's word for what the command did (`created`, `changed`). The body's
    `position` is filled in by the statement: the last position appended to `stream_id`, or the
    highest of the whole append when `stream_id` is None.
    """

    key: IdempotencyKey
    outcome: str
    body: dict[str, Any]
    stream_id: UUID | None = None


@dataclass(frozen=True)
class Remembered:
    """The first outcome of a command sent with an idempotency key."""

    request_hash: str
    outcome: str
    body: dict[str, Any]


class AlreadyAnswered(Exception):
    """A concurrent request with the same idempotency key committed first."""

    def __init__(self, remembered: Remembered, key: str | None = None) -> None:
        super().__init__("idempotency key already used" + (f": {key}" if key else ""))
        self.remembered = remembered
        self.key = key


REMEMBER = """
insert into events.idempotency_keys (tenant_id, key, request_hash, outcome, body)
values ($1, $2, $3, $4, $5)
on conflict do nothing
returning 1
"""

RECALL = """
select request_hash, outcome, body from events.idempotency_keys
where tenant_id = $1 and key = $2
"""

RECALL_MANY = """
select key, request_hash, outcome, body from events.idempotency_keys
where tenant_id = $1 and key = any($2::text[])
"""


async def recall_many(
    executor: asyncpg.Pool | asyncpg.Connection, tenant_id: str, keys: Sequence[str]
) -> dict[str, Remembered]:
    """The first outcomes remembered under these idempotency keys, by key."""
    if not keys:
        return {}
    rows = await executor.fetch(RECALL_MANY, tenant_id, list(keys))
    return {
        row["key"]: Remembered(row["request_hash"], row["outcome"], row["body"]) for row in rows
    }


async def recall(
    executor: asyncpg.Pool | asyncpg.Connection, tenant_id: str, key: str
) -> Remembered | None:
    """The first outcome remembered under an idempotency key, if any."""
    row = await executor.fetchrow(RECALL, tenant_id, key)
    return Remembered(**row) if row else None


async def remember(executor: asyncpg.Pool | asyncpg.Connection, remember: Remember) -> None:
    """Remember the outcome of a command that appended nothing; AlreadyAnswered if it was."""
    key = remember.key
    stored = await executor.fetchval(
        REMEMBER, key.tenant_id, key.key, key.request_hash, remember.outcome, remember.body
    )
    if stored is None:
        row = await executor.fetchrow(RECALL, key.tenant_id, key.key)
        raise AlreadyAnswered(Remembered(**row), key.key)


# One short statement per batch, so pruning never holds a lock or the commit-safe horizon long.
PRUNE = """
delete from events.idempotency_keys
where ctid = any(array(
    select ctid from events.idempotency_keys
    where created_at < now() - make_interval(secs => $1)
    order by created_at
    limit $2
))
"""


async def prune(pool: asyncpg.Pool, older_than_seconds: float, batch: int = 5000) -> int:
    """Forget keys older than the retention, in short batches; how many were forgotten."""
    forgotten = 0
    while True:
        status = await pool.execute(PRUNE, older_than_seconds, batch)
        count = int(status.split()[-1])
        forgotten += count
        if count < batch:
            return forgotten
