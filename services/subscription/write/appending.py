"""One append as one statement: the events, the reservations released and taken, the idempotency
records, and the condition on the streams the events were decided on.

The statement holds only the parts an append has: each part costs the server its planning and
its executor set-up (opening the table and its indexes) even when its arrays are empty, and most
appends have one or two parts (a create: its unique ID and its directory entries). Each shape is
built once and prepared once per connection (asyncpg's statement cache).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID, uuid4

from contracts.base import Event
from contracts.envelope import Metadata
from contracts.events import CURRENT_SCHEMA_VERSION
from services.subscription.write.idempotency import Remember
from services.subscription.write.reservations import ADDRESS_KINDS, Reservation


@dataclass(frozen=True)
class StreamAppend:
    """Events to append to one stream, expected to be at `expected_version` (0 when new).

    `expect` names streams the events were decided on but that are not written (the directory
    entries a subscription refers to), each with the version it was read at (0: no event).
    """

    tenant_id: str
    stream_id: UUID
    stream_type: str
    expected_version: int
    events: Sequence[Event]
    metadata: Metadata
    occurred_at: datetime
    reserve: Sequence[Reservation] = ()
    release: Sequence[Reservation] = ()
    expect: Sequence[tuple[UUID, int]] = ()


# Each part numbers its own parameters from $1; `statement` renumbers them in argument order.
# WHERE_READ stands where a part is skipped when a stream read has changed since: then the
# statement writes nothing and returns no row.
_READ = """reads as (
    select not exists (
        select from unnest($1::text[], $2::uuid[], $3::int[]) as x(t, s, v)
        where x.v <> coalesce((
            select max(e.version) from events.events e
            where e.stream_id = x.s and e.tenant_id = x.t
        ), 0)
    ) as unchanged
)"""
_RELEASED = """released as (
    delete from events.reservations r
    using unnest($1::text[], $2::text[], $3::text[], $4::uuid[]) as x(t, k, v, s)
    where r.tenant_id = x.t and r.kind = x.k and r.value = x.v and r.stream_id = x.s AND_READ
)"""
_RELEASED_ADDRESSES = """released_addresses as (
    delete from events.address_reservations r
    using unnest($1::text[], $2::text[], $3::text[], $4::uuid[]) as x(t, k, v, s)
    where r.tenant_id = x.t and r.kind = x.k and r.value = x.v and r.stream_id = x.s AND_READ
)"""
_RESERVED = """reserved as (
    insert into events.reservations (tenant_id, kind, value, stream_id)
    select * from unnest($1::text[], $2::text[], $3::text[], $4::uuid[]) WHERE_READ
)"""
_RESERVED_ADDRESSES = """reserved_addresses as (
    insert into events.address_reservations (tenant_id, kind, value, net, stream_id)
    select t, k, v, v::cidr, s from unnest($1::text[], $2::text[], $3::text[], $4::uuid[])
        as x(t, k, v, s) WHERE_READ
)"""
# Payloads and metadata arrive as JSON text (serialized by pydantic) and are cast here.
_APPENDED = """appended as (
    insert into events.events (tenant_id, stream_id, stream_type, version, event_id, type,
        schema_version, data, metadata, occurred_at)
    select t, s, st, v, e, ty, sv, d::jsonb, m::jsonb, o
    from unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::uuid[], $6::text[],
                $7::int[], $8::text[], $9::text[], $10::timestamptz[])
        as x(t, s, st, v, e, ty, sv, d, m, o) WHERE_READ
    returning position, stream_id, version
)"""
# The body's position: the last appended to the key's stream, else the highest of the append.
_REMEMBERED = """remembered as (
    insert into events.idempotency_keys (tenant_id, key, request_hash, outcome, body)
    select x.t, x.k, x.h, x.o,
           jsonb_set(x.b::jsonb, '{position}', to_jsonb(coalesce(s.position, a.position, 0)))
    from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[])
        as x(t, k, h, o, b, s)
    left join (select stream_id, max(position) as position from appended group by stream_id) s
        on s.stream_id = x.s
    cross join (select max(position) as position from appended) a
    WHERE_READ
)"""
_PARAMETER = re.compile(r"\$(\d+)")


@cache
def statement(
    read: bool,
    released: bool,
    released_addresses: bool,
    reserved: bool,
    reserved_addresses: bool,
    remembered: bool,
) -> str:
    """The statement of an append with these parts, its arguments in the order of `arguments`."""
    parts = [
        (_APPENDED, True),
        (_RELEASED, released),
        (_RELEASED_ADDRESSES, released_addresses),
        (_RESERVED, reserved),
        (_RESERVED_ADDRESSES, reserved_addresses),
        (_REMEMBERED, remembered),
        (_READ, read),
    ]
    numbered, offset = {}, 0
    for part, present in parts:
        if present:
            numbered[part] = _renumbered(part, offset)
            offset += len(set(_PARAMETER.findall(part)))
    # A CTE sees only those before it: the condition first, the keys after the events.
    order = [_READ, _RELEASED, _RELEASED_ADDRESSES, _RESERVED, _RESERVED_ADDRESSES, _APPENDED]
    ctes = [numbered[p] for p in [*order, _REMEMBERED] if p in numbered]
    sql = "with " + ",\n".join(ctes) + "\nselect position, stream_id, version from appended"
    where = "where (select unchanged from reads)" if read else ""
    return sql.replace("AND_READ", "and (select unchanged from reads)" if read else "").replace(
        "WHERE_READ", where
    )


def _renumbered(part: str, offset: int) -> str:
    return _PARAMETER.sub(lambda found: f"${int(found.group(1)) + offset}", part)


def arguments(appends: Sequence[StreamAppend], keys: Sequence[Remember]) -> tuple[str, list[Any]]:
    """The statement of these appends and its arguments: only the parts they have."""
    released, released_addresses, reserved, reserved_addresses = _reservation_columns(appends)
    remembered, read = _key_columns(keys), _read_columns(appends)
    groups = [released, released_addresses, reserved, reserved_addresses, remembered, read]
    sql = statement(
        bool(read[0]),
        bool(released[0]),
        bool(released_addresses[0]),
        bool(reserved[0]),
        bool(reserved_addresses[0]),
        bool(remembered[0]),
    )
    args = _event_columns(appends)
    for group in groups:
        if group[0]:
            args.extend(group)
    return sql, args


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


def _reservation_columns(appends: Sequence[StreamAppend]) -> list[list[list[Any]]]:
    """Released values, released addresses, reserved values, reserved addresses: 4 x 4 arrays."""
    groups: list[list[list[Any]]] = [[[], [], [], []] for _ in range(4)]
    for item in appends:
        for offset, values in ((0, item.release), (2, item.reserve)):
            for r in values:
                group = groups[offset + (r.kind in ADDRESS_KINDS)]
                row = (item.tenant_id, r.kind, r.value, item.stream_id)
                for column, value in zip(group, row, strict=True):
                    column.append(value)
    return groups


def _key_columns(keys: Sequence[Remember]) -> list[list[Any]]:
    """Tenant, key, request hash, outcome, body (JSON text) and stream of each key: 6 arrays."""
    columns: list[list[Any]] = [[] for _ in range(6)]
    for k in keys:
        body = json.dumps(k.body, default=str)
        values = (k.key.tenant_id, k.key.key, k.key.request_hash, k.outcome, body, k.stream_id)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


def _read_columns(appends: Sequence[StreamAppend]) -> list[list[Any]]:
    """Tenant, stream and version read of each stream the appends were decided on: 3 arrays."""
    read = [(i.tenant_id, s, v) for i in appends for s, v in i.expect]
    return [[r[n] for r in read] for n in range(3)]
