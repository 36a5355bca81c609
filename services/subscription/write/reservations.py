"""Reservations: values unique among a tenant's streams (unique IDs, logins) and addresses no
two streams may overlap, taken and released in the append statement; who holds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

ADDRESS_KINDS = ("ipv4", "ipv6")


@dataclass(frozen=True)
class Reservation:
    """A value unique among a tenant's streams (a unique ID, a PPPoE login, ...)."""

    kind: str
    value: str


class ReservationTaken(Exception):
    """A unique value (or an overlapping address) is held by another stream.

    `holder_unique_id` names the holder as people know it (its subscription's unique ID), so
    whoever shows the refusal needs no query of its own.
    """

    def __init__(
        self,
        tenant_id: str,
        reservation: Reservation,
        holder: UUID,
        held: str | None = None,
        holder_unique_id: str | None = None,
    ) -> None:
        super().__init__(f"{reservation.kind} {reservation.value!r} is taken by {holder}")
        self.tenant_id = tenant_id
        self.reservation = reservation
        self.holder = holder
        self.held = held or reservation.value
        self.holder_unique_id = holder_unique_id


# Who holds what a failed append asked for (read after the failure, so the holder committed):
# the first value, in the append's order, held by a stream other than the one asking for it,
# and the holder's unique ID, by which people know the subscription.
VALUE_HOLDER = """
select x.kind, x.value, r.stream_id, u.value as holder_unique_id
from unnest($2::text[], $3::text[], $4::uuid[]) with ordinality as x(kind, value, asker, n)
join events.reservations r on r.tenant_id = $1 and r.kind = x.kind and r.value = x.value
left join events.reservations u
    on u.tenant_id = $1 and u.kind = 'unique_id' and u.stream_id = r.stream_id
where r.stream_id <> x.asker
order by x.n
limit 1
"""

ADDRESS_HOLDER = """
select x.kind, x.value, r.stream_id, r.value as held, u.value as holder_unique_id
from unnest($2::text[], $3::text[], $4::uuid[]) with ordinality as x(kind, value, asker, n)
join events.address_reservations r on r.tenant_id = $1 and r.net && x.value::cidr
left join events.reservations u
    on u.tenant_id = $1 and u.kind = 'unique_id' and u.stream_id = r.stream_id
where r.stream_id <> x.asker
order by x.n
limit 1
"""

# Who holds these values now (unique IDs, logins; addresses overlap rather than equal).
HOLDERS = """
select r.kind, r.value, r.stream_id
from unnest($2::text[], $3::text[]) as x(kind, value)
join events.reservations r on r.tenant_id = $1 and r.kind = x.kind and r.value = x.value
"""


async def first_taken(
    executor: asyncpg.Pool | asyncpg.Connection,
    tenant_id: str,
    asked: list[tuple[Reservation, UUID]],
) -> ReservationTaken | None:
    """The first value asked for that another stream holds, in the append's order."""
    for sql, address in ((VALUE_HOLDER, False), (ADDRESS_HOLDER, True)):
        wanted = [(r, s) for r, s in asked if (r.kind in ADDRESS_KINDS) == address]
        if not wanted:
            continue
        row = await executor.fetchrow(
            sql,
            tenant_id,
            [r.kind for r, _ in wanted],
            [r.value for r, _ in wanted],
            [s for _, s in wanted],
        )
        if row is not None:
            taken = Reservation(row["kind"], row["value"])
            return ReservationTaken(
                tenant_id, taken, row["stream_id"], row.get("held"), row["holder_unique_id"]
            )
    return None


async def holders(
    executor: asyncpg.Pool | asyncpg.Connection, tenant_id: str, values: Sequence[Reservation]
) -> dict[Reservation, UUID]:
    """Which stream holds each of these values now (not addresses: they overlap)."""
    if not values:
        return {}
    rows = await executor.fetch(
        HOLDERS, tenant_id, [r.kind for r in values], [r.value for r in values]
    )
    return {Reservation(row["kind"], row["value"]): row["stream_id"] for row in rows}
