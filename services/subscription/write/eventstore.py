"""The PostgreSQL event store: load a stream, append atomically with reservations and
idempotency keys. Reading the whole log in commit-safe order is plumbing.eventlog's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from contracts.base import Event
from contracts.envelope import Metadata
from contracts.events import CURRENT_SCHEMA_VERSION
from plumbing.eventlog import COLUMNS, StoredEvent
from services.subscription.write import idempotency, reservations
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
    "StreamAppend",
]


@dataclass(frozen=True)
class StreamAppend:
    """Events to append to one stream, expected to be at `expected_version` (0 when new)."""

    tenant_id: str
    stream_id: UUID
    stream_type: str
    expected_version: int
    events: Sequence[Event]
    metadata: Metadata
    occurred_at: datetime
    reserve: Sequence[Reservation] = ()
    release: Sequence[Reservation] = ()


@dataclass(frozen=True)
class Appended:
    """Outcome of one stream's append: its new version and the position of its last event."""

    stream_id: UUID
    version: int
    position: int


class ConcurrencyError(Exception):
    """Another writer appended to the stream since it was loaded."""


LOAD_STREAMS = f"""
select {COLUMNS} from events.events e
where e.stream_id = any($2::uuid[]) and e.tenant_id = $1
order by e.stream_id, e.version
"""

# Payloads and metadata arrive as JSON text (serialized by pydantic) and are cast here.
_EVENT_ROWS = """
    select t, s, st, v, e, ty, sv, d::jsonb, m::jsonb, o
    from unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::uuid[], $6::text[],
                $7::int[], $8::text[], $9::text[], $10::timestamptz[])
        as x(t, s, st, v, e, ty, sv, d, m, o)"""

_EVENT_COLUMNS = """(tenant_id, stream_id, stream_type, version, event_id, type, schema_version,
         data, metadata, occurred_at)"""

# Most appends take and release nothing and carry no idempotency key: the events alone.
INSERT_EVENTS = f"""
insert into events.events {_EVENT_COLUMNS}
{_EVENT_ROWS}
returning position, stream_id, version
"""

# One statement, so one round trip and its own transaction: reservations released and taken,
# the events, and the idempotency records (one per command: an import batch carries one per
# row). Any constraint it breaks undoes all of it.
APPEND = f"""
with released as (
    delete from events.reservations r
    using unnest($11::text[], $12::text[], $13::text[], $14::uuid[]) as x(t, k, v, s)
    where r.tenant_id = x.t and r.kind = x.k and r.value = x.v and r.stream_id = x.s
), released_addresses as (
    delete from events.address_reservations r
    using unnest($15::text[], $16::text[], $17::text[], $18::uuid[]) as x(t, k, v, s)
    where r.tenant_id = x.t and r.kind = x.k and r.value = x.v and r.stream_id = x.s
), reserved as (
    insert into events.reservations (tenant_id, kind, value, stream_id)
    select * from unnest($19::text[], $20::text[], $21::text[], $22::uuid[])
), reserved_addresses as (
    insert into events.address_reservations (tenant_id, kind, value, net, stream_id)
    select t, k, v, v::cidr, s from unnest($23::text[], $24::text[], $25::text[], $26::uuid[])
        as x(t, k, v, s)
), appended as (
    insert into events.events {_EVENT_COLUMNS}
    {_EVENT_ROWS}
    returning position, stream_id, version
), remembered as (
    insert into events.idempotency_keys (tenant_id, key, request_hash, outcome, body)
    select x.t, x.k, x.h, x.o,
           jsonb_set(x.b::jsonb, '{{position}}', to_jsonb(coalesce(s.position, a.position, 0)))
    from unnest($27::text[], $28::text[], $29::text[], $30::text[], $31::text[], $32::uuid[])
        as x(t, k, h, o, b, s)
    left join (select stream_id, max(position) as position from appended group by stream_id) s
        on s.stream_id = x.s
    cross join (select max(position) as position from appended) a
)
select position, stream_id, version from appended
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
        events = _event_columns(appends)
        try:
            if not keys and not any(i.reserve or i.release for i in appends):
                rows = await self._pool.fetch(INSERT_EVENTS, *events)
            else:
                reservations = _reservation_columns(appends)
                rows = await self._pool.fetch(APPEND, *events, *reservations, *_key_columns(keys))
        except (asyncpg.UniqueViolationError, asyncpg.ExclusionViolationError) as exc:
            await self._explain(exc, appends, [k.key for k in keys])
            raise
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


def _event_columns(appends: Sequence[StreamAppend]) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(10)]
    for item in appends:
        metadata = item.metadata.model_dump_json()
        for offset, event in enumerate(item.events, start=1):
            values = (
                item.tenant_id,
                item.stream_id,
                item.stream_type,
                item.expected_version + offset,
                uuid4(),
                event.type,  # type: ignore[attr-defined]
                CURRENT_SCHEMA_VERSION[event.type],  # type: ignore[attr-defined]
                event.model_dump_json(exclude={"type"}),
                metadata,
                item.occurred_at,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
    return columns


def _reservation_columns(appends: Sequence[StreamAppend]) -> list[list[Any]]:
    """Released values, released addresses, reserved values, reserved addresses: 4 x 4 arrays."""
    groups: list[list[list[Any]]] = [[[], [], [], []] for _ in range(4)]
    for item in appends:
        for offset, values in ((0, item.release), (2, item.reserve)):
            for r in values:
                group = groups[offset + (r.kind in ADDRESS_KINDS)]
                values = (item.tenant_id, r.kind, r.value, item.stream_id)
                for column, value in zip(group, values, strict=True):
                    column.append(value)
    return [column for group in groups for column in group]


def _key_columns(keys: Sequence[Remember]) -> list[list[Any]]:
    """Tenant, key, request hash, outcome, body (JSON text) and stream of each key: 6 arrays."""
    columns: list[list[Any]] = [[] for _ in range(6)]
    for k in keys:
        body = json.dumps(k.body, default=str)
        values = (k.key.tenant_id, k.key.key, k.key.request_hash, k.outcome, body, k.stream_id)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


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
