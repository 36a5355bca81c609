"""The relay against the real PostgreSQL and NATS JetStream."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts import Metadata
from contracts.base import FieldChange
from contracts.directory import ContactEdited, ContactRegistered
from contracts.subjects import event_subject, events_stream, tenant_events
from plumbing.eventlog import COLUMNS, StoredEvent, stored_events
from services.subscription.config import Settings
from services.subscription.publishing.broker import ensure_stream
from services.subscription.publishing.relay import lock_key, relay_lag, run
from services.subscription.write.eventstore import EventStore, StreamAppend
from tests.conftest import tenant
from tests.helpers import until

ENVELOPE_KEYS = {
    "event_id",
    "type",
    "schema_version",
    "tenant_id",
    "stream_id",
    "stream_type",
    "version",
    "position",
    "occurred_at",
    "metadata",
    "data",
}
METADATA_KEYS = {"actor", "correlation_id", "causation_id", "idempotency_key", "import_id"}

LOCK_HOLDER = """
select l.pid, a.application_name from pg_locks l join pg_stat_activity a using (pid)
where l.locktype = 'advisory' and l.granted and l.objsubid = 1
  and l.classid::bigint = $1 and l.objid::bigint = $2
"""


@pytest.fixture(scope="module")
async def settings(database_url: str, nats_url: str, namespace: str) -> Settings:
    await ensure_stream(nats_url, namespace)
    return Settings(
        DATABASE_URL=database_url,
        NATS_URL=nats_url,
        WISPGATE_NAMESPACE=namespace,
        WISPGATE_ENV="test",
        WISPGATE_ADMIN_TOKEN=None,
        WISPGATE_RELAY_BATCH_SIZE=7,  # small, so that tests cross batch boundaries
    )


@pytest.fixture
async def js(nc: nats.NATS) -> JetStreamContext:
    return nc.jetstream()


class Relay:
    """A relay running as a task of this event loop."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.name, self.stopping = name, asyncio.Event()
        self.task = asyncio.create_task(run(settings, self.stopping, name=name))

    async def stop(self) -> None:
        """Ask it to stop (it finishes its current batch) and wait until it has."""
        self.stopping.set()
        await asyncio.wait_for(self.task, 30)


@asynccontextmanager
async def relay(settings: Settings, name: str) -> AsyncIterator[Relay]:
    """A relay running for the block, stopped on the way out."""
    running = Relay(settings, name)
    try:
        yield running
    finally:
        await running.stop()


async def append(store: EventStore, t: str, streams: int, edits: int, **kw: Any) -> None:
    """Register `streams` contacts and edit each `edits` times, interleaving the streams."""
    ids = [uuid4() for _ in range(streams)]
    for version in range(edits + 1):
        await asyncio.gather(*(store.append([_append(t, sid, version, **kw)]) for sid in ids))


def _append(t: str, sid: UUID, version: int, ago: timedelta = timedelta(0)) -> StreamAppend:
    event = (
        ContactRegistered(name="first")
        if version == 0
        else ContactEdited(changes={"name": FieldChange(old=None, new=f"n{version}")})
    )
    occurred_at = datetime.now(UTC) - ago
    return StreamAppend(t, sid, "contact", version, [event], Metadata(actor="test"), occurred_at)


async def stored(pool: asyncpg.Pool, t: str) -> list[StoredEvent]:
    rows = await pool.fetch(
        f"select {COLUMNS} from events.events e where e.tenant_id = $1 order by e.txid, e.position",
        t,
    )
    return stored_events(rows)


async def count_on_broker(js: JetStreamContext, ns: str, t: str) -> int:
    info = await js.stream_info(events_stream(ns), subjects_filter=tenant_events(ns, t))
    return sum((info.state.subjects or {}).values())


async def on_broker(js: JetStreamContext, ns: str, t: str, expected: int) -> list[Any]:
    """Every message of the tenant in the stream, in stream order, once `expected` are there."""
    await until(lambda: _at_least(js, ns, t, expected), 15)
    total = await count_on_broker(js, ns, t)
    sub = await js.subscribe(tenant_events(ns, t), ordered_consumer=True)
    try:
        return [await sub.next_msg(timeout=5) for _ in range(total)]
    finally:
        await sub.unsubscribe()


async def _at_least(js: JetStreamContext, ns: str, t: str, expected: int) -> bool:
    return await count_on_broker(js, ns, t) >= expected


def batches(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "published batch"]


async def test_every_event_arrives_with_its_envelope_in_stream_order(
    pool: asyncpg.Pool, settings: Settings, js: JetStreamContext, namespace: str
) -> None:
    store, t = EventStore(pool), tenant()
    async with relay(settings, "relay-order"):
        await append(store, t, streams=4, edits=5)
        messages = await on_broker(js, namespace, t, 24)
    events = {e.event_id: e for e in await stored(pool, t)}
    assert len(messages) == len(events) == 24
    versions: dict[str, list[int]] = {}
    for msg in messages:
        body = json.loads(msg.data)
        assert set(body) == ENVELOPE_KEYS
        assert set(body["metadata"]) == METADATA_KEYS
        event = events[UUID(msg.headers["Nats-Msg-Id"])]
        assert body == json.loads(event.envelope().model_dump_json())
        assert msg.subject == event_subject(namespace, t, event.type)
        versions.setdefault(body["stream_id"], []).append(body["version"])
    assert all(v == list(range(1, 7)) for v in versions.values()) and len(versions) == 4


async def test_an_event_committed_late_with_a_lower_position_is_published(
    pool: asyncpg.Pool, settings: Settings, js: JetStreamContext, namespace: str, database_url: str
) -> None:
    store, t, late = EventStore(pool), tenant(), uuid4()
    async with relay(settings, "relay-late"):
        slow = await asyncpg.connect(database_url)
        try:
            async with slow.transaction():
                await slow.execute(
                    "insert into events.events (tenant_id, stream_id, stream_type, version,"
                    " event_id, type, data, metadata) values ($1, $2, 'contact', 1, $3,"
                    ' \'contact.registered\', \'{"name": "late"}\', \'{"actor": "test"}\')',
                    t,
                    late,
                    uuid4(),
                )
                await append(store, t, streams=3, edits=0)
                backlog, _ = await relay_lag(pool, namespace)
                assert backlog >= 3  # committed, yet held back by the open transaction
        finally:
            await slow.close()
        messages = await on_broker(js, namespace, t, 4)
    published = [json.loads(m.data) for m in messages]
    assert len(published) == 4
    late_event = next(e for e in published if e["stream_id"] == str(late))
    others = [e["position"] for e in published if e is not late_event]
    assert late_event["position"] < min(others)


async def test_one_relay_publishes_and_a_stand_by_takes_over_without_loss(
    pool: asyncpg.Pool,
    settings: Settings,
    js: JetStreamContext,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.subscription.publishing.relay")
    store, t, names = EventStore(pool), tenant(), {"relay-a", "relay-b"}
    key = lock_key(namespace)
    async with relay(settings, "relay-a") as a, relay(settings, "relay-b") as b:
        holder = (await until(lambda: _lock_holder(pool, key), 15))["application_name"]
        assert holder in names
        await append(store, t, streams=3, edits=3)
        await on_broker(js, namespace, t, 12)
        assert {r.relay for r in batches(caplog)} == {holder}

        caplog.clear()
        active, stand_by = (a, b) if holder == a.name else (b, a)
        await active.stop()
        await append(store, t, streams=3, edits=3)
        messages = await on_broker(js, namespace, t, 24)
        assert not stand_by.task.done()
    assert {r.relay for r in batches(caplog)} == names - {holder}
    assert sorted(m.headers["Nats-Msg-Id"] for m in messages) == sorted(
        str(e.event_id) for e in await stored(pool, t)
    )


async def test_a_relay_whose_lock_connection_dies_stops_and_another_resumes(
    pool: asyncpg.Pool, settings: Settings, js: JetStreamContext, namespace: str
) -> None:
    store, t, key = EventStore(pool), tenant(), lock_key(namespace)
    async with relay(settings, "relay-c"), relay(settings, "relay-d"):
        await until(lambda: _lock_holder(pool, key), 15)
        await append(store, t, streams=2, edits=2)
        await on_broker(js, namespace, t, 6)
        terminated = (await _lock_holder(pool, key))["pid"]
        await pool.execute("select pg_terminate_backend($1)", terminated)
        await append(store, t, streams=2, edits=2)
        messages = await on_broker(js, namespace, t, 12)
        assert (await until(lambda: _lock_holder(pool, key), 15))["pid"] != terminated
    assert len(messages) == 12
    assert len({m.headers["Nats-Msg-Id"] for m in messages}) == 12


async def _lock_holder(pool: asyncpg.Pool, key: int) -> asyncpg.Record | None:
    """The session holding the relay lock (its pid and application name), if one does."""
    return await pool.fetchrow(LOCK_HOLDER, (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)


async def test_a_restarted_relay_resumes_from_its_checkpoint(
    pool: asyncpg.Pool,
    settings: Settings,
    js: JetStreamContext,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.subscription.publishing.relay")
    store, t = EventStore(pool), tenant()
    async with relay(settings, "relay-first"):
        await append(store, t, streams=2, edits=4)
        await on_broker(js, namespace, t, 10)
    caplog.clear()
    await append(store, t, streams=2, edits=4)
    async with relay(settings, "relay-second"):
        messages = await on_broker(js, namespace, t, 20)
    second = batches(caplog)
    assert second and all(r.relay == "relay-second" for r in second)
    assert sum(r.duplicates for r in second) == 0  # nothing published twice
    assert len(messages) == 20


async def test_the_broker_drops_a_republished_event(
    pool: asyncpg.Pool, settings: Settings, js: JetStreamContext, namespace: str
) -> None:
    store, t = EventStore(pool), tenant()
    async with relay(settings, "relay-dup"):
        await append(store, t, streams=1, edits=1)
        await on_broker(js, namespace, t, 2)
    event = (await stored(pool, t))[0]
    ack = await js.publish(
        event_subject(namespace, t, event.type),
        event.envelope().model_dump_json().encode(),
        stream=events_stream(namespace),
        headers={"Nats-Msg-Id": str(event.event_id)},
    )
    assert ack.duplicate
    assert await count_on_broker(js, namespace, t) == 2


async def test_relay_lag_reports_the_backlog_until_a_relay_catches_up(
    pool: asyncpg.Pool, settings: Settings, js: JetStreamContext, namespace: str
) -> None:
    store, t = EventStore(pool), tenant()
    await append(store, t, streams=3, edits=2, ago=timedelta(hours=1))
    backlog, age = await relay_lag(pool, namespace)
    assert backlog >= 9
    assert age >= 3600
    async with relay(settings, "relay-lag"):
        await on_broker(js, namespace, t, 9)
    assert await relay_lag(pool, namespace) == (0, 0.0)


async def test_nothing_is_checkpointed_until_the_broker_acknowledges(
    pool: asyncpg.Pool,
    settings: Settings,
    js: JetStreamContext,
    nats_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With no stream to take them, events wait in the store; once it exists, they arrive."""
    own = settings.model_copy(update={"namespace": f"{settings.namespace}_outage"})
    store, t = EventStore(pool), tenant()
    try:
        async with relay(own, "relay-outage"):
            await append(store, t, streams=2, edits=1)
            await until(lambda: _broker_warned(caplog), 15)
            backlog, _ = await relay_lag(pool, own.namespace)
            assert backlog >= 4
            await ensure_stream(nats_url, own.namespace)
            messages = await on_broker(js, own.namespace, t, 4)
        assert len(messages) == 4
        assert await relay_lag(pool, own.namespace) == (0, 0.0)
    finally:
        with suppress(NotFoundError):
            await js.delete_stream(events_stream(own.namespace))


async def _broker_warned(caplog: pytest.LogCaptureFixture) -> bool:
    return any(
        r.name == "services.subscription.publishing.broker" and r.levelno == logging.WARNING
        for r in caplog.records
    )
