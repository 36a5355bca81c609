"""The PostgreSQL event store: load a stream, append atomically with reservations and
idempotency keys. Reading the whole log in commit-safe order is plumbing.eventlog's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from plumbing.eventlog import COLUMNS, StoredEvent
from services.subscription.write import appending, idempotency, reservations
from services.subscription.write.appending import StreamAppend
from services.subscription.write.idempotency import (
    AlreadyAnswered,
    IdempotencyKey,
    Remember,
    Remembered,
)
from services.subscription.write.reservations import (
    ADDRESS_KINDS,
    Reservation,
    ReservationTaken,
)

# Names callers take from here: the store's whole vocabulary in one import.
__all__ = [
    "ADDRESS_KINDS",
    "AlreadyAnswered",
    "Appended",
    "ConcurrencyError",
    "EventStore",
    "IdempotencyKey",
    "Remember",
    "Remembered",
    "Reservation",
    "ReservationTaken",
    "StaleRead",
    "StreamAppend",
]


@dataclass(frozen=True)
class Appended:
    """Outcome of one stream's append: its new version and the position of its last event."""

    stream_id: UUID
    version: int
    position: int


class ConcurrencyError(Exception):
    """Another writer appended to the stream since it was loaded."""


class StaleRead(Exception):
    """A stream the append was decided on (not one it writes) changed since it was read."""


LOAD_STREAMS = f"""
select {COLUMNS} from events.events e
where e.stream_id = any($2::uuid[]) and e.tenant_id = $1
order by e.stream_id, e.version
"""


class EventStore:
    """Appends and reads events; knows nothing of any stream's rules."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def load(self, tenant_id: str, stream_id: UUID) -> list[StoredEvent]:
        """Every event of one stream of the tenant, oldest first (empty when there is none)."""
        return (await self.load_many(tenant_id, [stream_id])).get(stream_id, [])

    async def load_many(
        self, tenant_id: str, stream_ids: Sequence[UUID]
    ) -> dict[UUID, list[StoredEvent]]:
        """Events of several streams of the tenant, by stream, oldest first."""
        if not stream_ids:
            return {}
        rows = await self._pool.fetch(LOAD_STREAMS, tenant_id, list(stream_ids))
        streams: dict[UUID, list[StoredEvent]] = {}
        for row in rows:
            streams.setdefault(row["stream_id"], []).append(StoredEvent(*row))
        return streams

    async def append(
        self, appends: Sequence[StreamAppend], remember: Sequence[Remember] = ()
    ) -> list[Appended]:
        """Append to one or more streams atomically, with their reservations.

        `remember` writes idempotency keys with their outcomes in the same statement (one per
        command: an import batch carries one per row), so a key is kept only with its events.
        """
        keys = list(remember)
        sql, args = appending.arguments(appends, keys)
        try:
            # One statement, so one round trip and its own transaction: any constraint it
            # breaks undoes all of it.
            rows = await self._pool.fetch(sql, *args)
        except (asyncpg.UniqueViolationError, asyncpg.ExclusionViolationError) as exc:
            await self._explain(exc, appends, [k.key for k in keys])
            raise
        if not rows and any(i.events for i in appends):
            raise StaleRead("a stream the append was decided on has changed since it was read")
        return _outcomes(appends, rows)

    async def _explain(
        self,
        exc: asyncpg.PostgresError,
        appends: Sequence[StreamAppend],
        keys: Sequence[IdempotencyKey],
    ) -> None:
        """Raise the domain's reading of a broken constraint."""
        constraint = getattr(exc, "constraint_name", None)
        if constraint == "events_stream_id_version_key":
            raise ConcurrencyError("the stream changed since it was read") from exc
        if constraint == "idempotency_keys_pkey":
            for tenant_id in dict.fromkeys(k.tenant_id for k in keys):
                found = await self.recall_many(tenant_id, [k.key for k in keys])
                for key in (k.key for k in keys if k.tenant_id == tenant_id and k.key in found):
                    raise AlreadyAnswered(found[key], key) from exc
        for tenant_id in dict.fromkeys(i.tenant_id for i in appends):
            mine = [i for i in appends if i.tenant_id == tenant_id]
            asked = [(r, i.stream_id) for i in mine for r in i.reserve]
            taken = await reservations.first_taken(self._pool, tenant_id, asked)
            if taken is not None:
                raise taken from exc

    async def holders(
        self, tenant_id: str, values: Sequence[Reservation]
    ) -> dict[Reservation, UUID]:
        """Which stream holds each of these values now (not addresses: they overlap)."""
        return await reservations.holders(self._pool, tenant_id, values)

    async def recall_many(self, tenant_id: str, keys: Sequence[str]) -> dict[str, Remembered]:
        """The first outcomes remembered under these idempotency keys, by key."""
        return await idempotency.recall_many(self._pool, tenant_id, keys)

    async def recall(self, tenant_id: str, key: str) -> Remembered | None:
        """The first outcome remembered under an idempotency key, if any."""
        return await idempotency.recall(self._pool, tenant_id, key)

    async def remember(self, remember: Remember) -> None:
        """Remember the outcome of a command that appended nothing."""
        await idempotency.remember(self._pool, remember)


def _outcomes(appends: Sequence[StreamAppend], rows: list[Any]) -> list[Appended]:
    last: dict[UUID, tuple[int, int]] = {}
    for row in rows:
        version, position = last.get(row["stream_id"], (0, 0))
        last[row["stream_id"]] = (max(version, row["version"]), max(position, row["position"]))
    return [
        Appended(item.stream_id, *last[item.stream_id])
        for item in appends
        if item.stream_id in last
    ]
