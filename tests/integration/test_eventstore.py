"""The event store against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg

from contracts import Metadata
from contracts.base import FieldChange
from contracts.directory import ContactEdited, ContactRegistered
from services.subscription.eventstore import (
    Checkpoint,
    ConcurrencyError,
    EventStore,
    Reservation,
    ReservationTaken,
    StreamAppend,
)
from tests.conftest import tenant


def _append(tenant_id: str, stream_id, version: int, name: str, **kw) -> StreamAppend:
    event = (
        ContactRegistered(name=name)
        if version == 0
        else ContactEdited(changes={"name": FieldChange(old=None, new=name)})
    )
    return StreamAppend(
        tenant_id,
        stream_id,
        "contact",
        version,
        [event],
        Metadata(actor="test"),
        datetime.now(UTC),
        **kw,
    )


async def test_racing_appends_at_one_version_one_wins(pool: asyncpg.Pool) -> None:
    store, t, sid = EventStore(pool), tenant(), uuid4()
    await store.append([_append(t, sid, 0, "first")])
    results = await asyncio.gather(
        *(store.append([_append(t, sid, 1, f"n{i}")]) for i in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, ConcurrencyError) for r in results if isinstance(r, Exception))
    assert [e.version for e in await store.load(t, sid)] == [1, 2]


async def test_streams_are_invisible_to_other_tenants(pool: asyncpg.Pool) -> None:
    store, sid = EventStore(pool), uuid4()
    await store.append([_append(tenant(), sid, 0, "mine")])
    assert await store.load(tenant(), sid) == []


async def test_reservation_is_race_free(pool: asyncpg.Pool) -> None:
    store, t = EventStore(pool), tenant()
    taken = Reservation("pppoe", "alice@isp")
    results = await asyncio.gather(
        *(store.append([_append(t, uuid4(), 0, "x", reserve=[taken])]) for _ in range(8)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, ReservationTaken) for r in results if isinstance(r, Exception))


async def test_reader_never_skips_an_event_committed_late(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """An append holding a low position open while later ones commit is still read after."""
    store, t = EventStore(pool), tenant()
    start = await _tail(store)
    slow = await asyncpg.connect(database_url)
    tx = slow.transaction()
    await tx.start()
    late = uuid4()
    await slow.execute(
        "insert into events.events (tenant_id, stream_id, stream_type, version, event_id, type,"
        " data, metadata) values ($1, $2, 'contact', 1, $3, 'contact.registered',"
        ' \'{"name": "late"}\', \'{"actor": "test"}\')',
        t,
        late,
        uuid4(),
    )
    for i in range(3):
        await store.append([_append(t, uuid4(), 0, f"early{i}")])
    seen = await store.read_committed(start, 1000)
    assert late not in {e.stream_id for e in seen}
    checkpoint = seen[-1].checkpoint if seen else start
    await tx.commit()
    await slow.close()
    # Other sessions on the server may still hold the horizon back for a moment: poll.
    deadline = time.monotonic() + 30
    seen_after: set[object] = set()
    while late not in seen_after:
        assert time.monotonic() < deadline, "the late event was never read"
        batch = await store.read_committed(checkpoint, 1000)
        seen_after |= {e.stream_id for e in batch}
        checkpoint = batch[-1].checkpoint if batch else checkpoint
        await asyncio.sleep(0.01)


async def _tail(store: EventStore) -> Checkpoint:
    checkpoint = Checkpoint()
    while batch := await store.read_committed(checkpoint, 5000):
        checkpoint = batch[-1].checkpoint
    return checkpoint
