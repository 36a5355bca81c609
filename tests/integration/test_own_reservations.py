"""A stream may change what it holds in one append: widen or narrow its own block, swap logins.

The release and the new reservation are written by one statement whose parts run in no set
order, so the constraints are checked when the statement ends (deferred), not row by row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest

from contracts import Metadata
from contracts.base import FieldChange
from contracts.directory import ContactEdited, ContactRegistered
from services.subscription.write.eventstore import (
    EventStore,
    Reservation,
    ReservationTaken,
    StreamAppend,
)
from tests.conftest import tenant


def _append(t: str, sid, version: int, reserve=(), release=()) -> StreamAppend:
    event = (
        ContactRegistered(name="x")
        if version == 0
        else ContactEdited(changes={"name": FieldChange(old=None, new=f"v{version}")})
    )
    return StreamAppend(
        t, sid, "contact", version, [event], Metadata(actor="test"), datetime.now(UTC),
        reserve=reserve, release=release,
    )  # fmt: skip


CHANGES = [
    ("ipv4", "100.64.0.8/30", "100.64.0.8/29"),  # widened
    ("ipv4", "100.64.0.8/29", "100.64.0.9/32"),  # narrowed to one address inside it
    ("ipv4", "100.64.0.9/32", "100.64.0.8/30"),  # one address widened to a block around it
    ("ipv6", "2001:db8::/56", "2001:db8::/48"),
    ("ipv6", "2001:db8::/48", "2001:db8:0:1::/64"),
]


@pytest.mark.parametrize(("kind", "old", "new"), CHANGES)
async def test_a_stream_widens_or_narrows_its_own_block(
    pool: asyncpg.Pool, kind: str, old: str, new: str
) -> None:
    store, t, sid = EventStore(pool), tenant(), uuid4()
    await store.append([_append(t, sid, 0, reserve=[Reservation(kind, old)])])
    await store.append(
        [_append(t, sid, 1, reserve=[Reservation(kind, new)], release=[Reservation(kind, old)])]
    )
    held = await pool.fetch("select value from events.address_reservations where tenant_id = $1", t)
    assert [r["value"] for r in held] == [new]


async def test_another_streams_overlap_is_still_refused(pool: asyncpg.Pool) -> None:
    store, t, mine, theirs = EventStore(pool), tenant(), uuid4(), uuid4()
    await store.append([_append(t, theirs, 0, reserve=[Reservation("ipv4", "100.64.0.12/30")])])
    await store.append([_append(t, mine, 0, reserve=[Reservation("ipv4", "100.64.0.8/30")])])
    block, wider = Reservation("ipv4", "100.64.0.8/30"), Reservation("ipv4", "100.64.0.8/29")
    with pytest.raises(ReservationTaken) as taken:
        await store.append([_append(t, mine, 1, reserve=[wider], release=[block])])
    assert taken.value.holder == theirs


async def test_two_logins_of_one_stream_are_swapped(pool: asyncpg.Pool) -> None:
    store, t, sid = EventStore(pool), tenant(), uuid4()
    a, b = Reservation("pppoe", "alice"), Reservation("pppoe", "bob")
    await store.append([_append(t, sid, 0, reserve=[a, b])])
    # Released and taken again in one statement, in either order.
    await store.append([_append(t, sid, 1, reserve=[b, a], release=[a, b])])
    held = await pool.fetch("select value from events.reservations where tenant_id = $1", t)
    assert sorted(r["value"] for r in held) == ["alice", "bob"]
