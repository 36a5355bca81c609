"""The event store against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest

from contracts import Metadata
from contracts.base import FieldChange
from contracts.directory import ContactEdited, ContactRegistered
from plumbing.eventlog import Checkpoint, read_committed
from services.subscription.write.eventstore import (
    AlreadyAnswered,
    ConcurrencyError,
    EventStore,
    IdempotencyKey,
    Remember,
    Reservation,
    ReservationTaken,
    StaleRead,
    StreamAppend,
)
from tests.conftest import tenant
from tests.helpers import until


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


async def test_one_append_remembers_a_key_per_stream_with_its_position(
    pool: asyncpg.Pool,
) -> None:
    store, t, streams = EventStore(pool), tenant(), [uuid4(), uuid4()]
    keys = [
        Remember(
            IdempotencyKey(t, f"key-{sid}", "hash"), "created", {"id": str(sid)}, stream_id=sid
        )
        for sid in streams
    ]
    appended = await store.append(
        [_append(t, sid, 0, f"n{i}") for i, sid in enumerate(streams)], remember=keys
    )
    found = await store.recall_many(t, [k.key.key for k in keys] + ["never-used"])
    assert set(found) == {k.key.key for k in keys}
    for item in appended:
        remembered = found[f"key-{item.stream_id}"]
        assert remembered.outcome == "created" and remembered.request_hash == "hash"
        assert remembered.body == {"id": str(item.stream_id), "position": item.position}
    assert len({a.position for a in appended}) == 2


async def test_a_key_already_remembered_undoes_the_whole_append(pool: asyncpg.Pool) -> None:
    store, t, fresh_stream = EventStore(pool), tenant(), uuid4()
    used = IdempotencyKey(t, "used", "hash")
    await store.append([_append(t, uuid4(), 0, "first")], remember=[Remember(used, "created", {})])
    fresh = Remember(IdempotencyKey(t, "fresh", "hash"), "created", {})
    with pytest.raises(AlreadyAnswered) as raised:
        await store.append(
            [_append(t, fresh_stream, 0, "a"), _append(t, uuid4(), 0, "b")],
            remember=[fresh, Remember(used, "created", {})],
        )
    assert raised.value.key == "used" and raised.value.remembered.body["position"] > 0
    assert await store.load(t, fresh_stream) == []
    assert await store.recall(t, "fresh") is None


async def test_a_taken_value_is_named_in_the_order_of_the_append(pool: asyncpg.Pool) -> None:
    store, t, holder = EventStore(pool), tenant(), uuid4()
    first, second, free = (Reservation("unique_id", f"SUB-{n}") for n in (1, 2, 3))
    await store.append([_append(t, holder, 0, "holder", reserve=[first, second])])
    with pytest.raises(ReservationTaken) as raised:
        await store.append(
            [
                _append(t, uuid4(), 0, "free", reserve=[free]),
                _append(t, uuid4(), 0, "second", reserve=[second]),
                _append(t, uuid4(), 0, "first", reserve=[first]),
            ]
        )
    assert raised.value.reservation == second and raised.value.holder == holder
    assert await store.holders(t, [first, second, free]) == {first: holder, second: holder}


async def test_an_append_decided_on_a_stream_changed_since_writes_nothing(
    pool: asyncpg.Pool,
) -> None:
    store, t, entry, absent = EventStore(pool), tenant(), uuid4(), uuid4()
    await store.append([_append(t, entry, 0, "entry")])
    read = [(entry, 1), (absent, 0)]
    login = Reservation("pppoe", f"user-{uuid4()}")
    await store.append([_append(t, uuid4(), 0, "decided", reserve=[login], expect=read)])
    await store.append([_append(t, entry, 1, "entry, edited")])
    stream, other = uuid4(), Reservation("pppoe", f"user-{uuid4()}")
    key = Remember(IdempotencyKey(t, "stale", "hash"), "created", {}, stream_id=stream)
    with pytest.raises(StaleRead):
        await store.append(
            [_append(t, stream, 0, "stale", reserve=[other], expect=read)], remember=[key]
        )
    assert await store.load(t, stream) == []
    assert await store.holders(t, [other]) == {}
    assert await store.recall(t, "stale") is None
    await store.append([_append(t, stream, 0, "fresh", reserve=[other], expect=[(entry, 2)])])
    assert await store.holders(t, [other]) == {other: stream}


async def test_reader_never_skips_an_event_committed_late(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """An append holding a low position open while later ones commit is still read after."""
    store, t = EventStore(pool), tenant()
    start = await _tail(pool)
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
    seen = await read_committed(pool, start, 1000)
    assert late not in {e.stream_id for e in seen}
    checkpoint = seen[-1].checkpoint if seen else start
    await tx.commit()
    await slow.close()
    # Other sessions on the server may still hold the horizon back for a moment: poll.
    read_from = checkpoint

    async def late_read() -> bool:
        nonlocal read_from
        batch = await read_committed(pool, read_from, 1000)
        read_from = batch[-1].checkpoint if batch else read_from
        return late in {e.stream_id for e in batch}

    await until(late_read, 30, 0.01, "the late event was never read")


async def _tail(pool: asyncpg.Pool) -> Checkpoint:
    checkpoint = Checkpoint()
    while batch := await read_committed(pool, checkpoint, 5000):
        checkpoint = batch[-1].checkpoint
    return checkpoint
