"""The projection worker on real NATS JetStream and PostgreSQL: duplicates, poison events, stops."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import nats
import pytest
from nats.js.api import StorageType
from nats.js.errors import BadRequestError

from contracts.subjects import (
    appended_hint_subject,
    dead_letter_subject,
    durable_name,
    event_subject,
    events_stream,
    events_wildcard,
)
from contracts.subscription import Status
from services.projections.catalog import PROJECTIONS
from services.projections.config import Settings
from services.projections.delivery import CONSUMER_HEADER, ERROR_HEADER
from services.projections.worker import PROJECTION_HEADER, Worker
from services.subscription.write.eventstore import StoredEvent
from tests.conftest import ROOT, tenant
from tests.integration.test_projections import (
    Writer,
    assert_equals_rebuild,
    caught_up,
    scenario,
    tenant_rows,
    until,
)

# Every worker of the run shares the durable consumer, so every one uses these settings.
WORKER_ENV = {
    "PROJECTIONS_MAX_DELIVERIES": "3",
    "PROJECTIONS_RETRY_DELAY": "0.05",
    "PROJECTIONS_RETRY_MAX_DELAY": "0.5",
    "PROJECTIONS_POLL_INTERVAL": "0.2",
    "PROJECTIONS_ACK_WAIT": "10",
}
ENVELOPES = """
select position, txid::text::bigint as txid, event_id, tenant_id, stream_id, stream_type,
       version, type, schema_version, data, metadata, occurred_at
from events.events where tenant_id = $1 order by position
"""


@pytest.fixture
async def stream(nc: nats.NATS, namespace: str) -> str:
    """The run's events stream, as the subscription service's setup would create it."""
    name = events_stream(namespace)
    try:
        await nc.jetstream().add_stream(
            name=name,
            subjects=[events_wildcard(namespace)],
            storage=StorageType.FILE,
            duplicate_window=120,
        )
    except BadRequestError:
        pass  # already there, created by another test or service
    return name


@pytest.fixture
def worker_settings(database_url: str, nats_url: str, namespace: str) -> Settings:
    return Settings.model_validate(
        {
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            "WISPGATE_NAMESPACE": namespace,
            **WORKER_ENV,
        }
    )


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Worker]:
    """A worker running as a task of this event loop, stopped cleanly at the end."""
    running = Worker(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(running.run(stop))
    await until(lambda: asyncio.sleep(0, running.consuming or task.done()))
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def worker(worker_settings: Settings, stream: str) -> AsyncIterator[Worker]:
    async with started(worker_settings) as running:
        yield running


async def envelopes(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's events as the relay publishes them."""
    return [
        StoredEvent(**row).envelope().model_dump(mode="json")
        for row in await pool.fetch(ENVELOPES, tenant_id)
    ]


async def publish(nc: nats.NATS, namespace: str, envelope: dict[str, Any], msg_id: str) -> None:
    subject = event_subject(namespace, envelope["tenant_id"], envelope["type"])
    body = json.dumps(envelope).encode()
    await nc.jetstream().publish(subject, body, headers={"Nats-Msg-Id": msg_id})


def settled(nc: nats.NATS, namespace: str):
    async def check() -> bool:
        info = await nc.jetstream().consumer_info(
            events_stream(namespace), durable_name(namespace, "projections")
        )
        return info.num_pending == 0 and info.num_ack_pending == 0

    return check


async def test_duplicate_and_reordered_messages_change_nothing(
    pool: asyncpg.Pool, nc: nats.NATS, namespace: str, worker: Worker
) -> None:
    t = tenant()
    await scenario(Writer(pool, t))
    published = await envelopes(pool, t)
    for envelope in published:
        await publish(nc, namespace, envelope, envelope["event_id"])
    await until(lambda: caught_up(pool))
    await until(settled(nc, namespace))
    before = await tenant_rows(pool, t)
    assert before["subscriptions"] and before["history"]

    # Copies the broker keeps (new message ids), newest first, twice over.
    for envelope in reversed(published * 2):
        await publish(nc, namespace, envelope, str(uuid4()))
    await until(settled(nc, namespace))
    await until(lambda: caught_up(pool))
    assert await tenant_rows(pool, t) == before
    assert not await pool.fetchval("select count(*) from read.dead_letters")
    await assert_equals_rebuild(pool)


async def test_a_poison_event_is_dead_lettered_and_later_events_proceed(
    pool: asyncpg.Pool, nc: nats.NATS, namespace: str, worker: Worker
) -> None:
    letters: asyncio.Queue[Any] = asyncio.Queue()
    sub = await nc.subscribe(dead_letter_subject(namespace, "projections"), cb=letters.put)
    await nc.flush()
    t = tenant()
    w = Writer(pool, t)
    contact = await w.register("contact", name="Pat Poison")
    engineer = await w.register("engineer", name="Eve Engineer")
    first = await w.subscribe("SUB-000001", "First", contact_id=contact, engineer_id=engineer)
    # Two broken events a buggy writer stored: only the first is ever published, so the second
    # is given up on by the worker's own passes, without any message.
    poison = [await _broken_status_change(pool, w, first) for _ in range(2)]
    await publish(nc, namespace, (await envelopes(pool, t))[-2], str(poison[0]))
    second = await w.subscribe("SUB-000002", "Second", contact_id=contact, engineer_id=engineer)
    for envelope in (await envelopes(pool, t))[-1:]:
        await publish(nc, namespace, envelope, envelope["event_id"])

    handling = {n for n, p in PROJECTIONS.items() if "subscription.status_changed" in p.handles}
    assert {"subscriptions", "history"} <= handling
    expected = {(p, e) for p in handling for e in poison}

    async def dead_lettered() -> bool:
        rows = await pool.fetch(
            "select projection, event_id from read.dead_letters where event_id = any($1)", poison
        )
        return {(r["projection"], r["event_id"]) for r in rows} == expected

    await until(dead_lettered)
    await until(lambda: caught_up(pool))
    rows = await pool.fetch("select id, status from read.subscriptions where tenant_id = $1", t)
    assert {r["id"]: r["status"] for r in rows} == {first: "Active", second: "Active"}
    await until(settled(nc, namespace))

    received = []
    while not letters.empty() or len({r[0] for r in received}) < 2:
        letter = await asyncio.wait_for(letters.get(), timeout=30)
        received.append((UUID(json.loads(letter.data)["event_id"]), letter.headers))
    assert {event_id for event_id, _ in received} == set(poison)
    for _, headers in received:
        assert headers[CONSUMER_HEADER] == "projections"
        assert "to_status" in headers[ERROR_HEADER]
    assert any(h.get(PROJECTION_HEADER) for e, h in received if e == poison[1])
    await sub.unsubscribe()
    await assert_equals_rebuild(pool)  # rebuilds skip what was dead-lettered


async def _broken_status_change(pool: asyncpg.Pool, w: Writer, stream_id: UUID) -> UUID:
    event_id, version = uuid4(), w.versions[stream_id] + 1
    await pool.execute(
        "insert into events.events (tenant_id, stream_id, stream_type, version, event_id, type,"
        " data, metadata) values ($1, $2, 'subscription', $3, $4, 'subscription.status_changed',"
        " $5, $6)",
        w.tenant_id,
        stream_id,
        version,
        event_id,
        {"from_status": Status.ACTIVE.value, "to_status": "Teleported"},
        {"actor": "buggy writer"},
    )
    w.versions[stream_id] = version
    return event_id


async def test_append_hints_wake_the_worker_between_timer_passes(
    pool: asyncpg.Pool, nc: nats.NATS, namespace: str, worker_settings: Settings, stream: str
) -> None:
    async def hinted() -> bool:
        await nc.publish(appended_hint_subject(namespace), b"")
        return await caught_up(pool)

    # No timer pass after the first, and events only stored, never published: hints alone.
    async with started(worker_settings.model_copy(update={"poll_interval": 3600.0})):
        await until(hinted)
        t = tenant()
        await scenario(Writer(pool, t))
        await until(hinted)
    assert len((await tenant_rows(pool, t))["subscriptions"]) == 3


async def test_the_worker_process_reaches_the_tail_and_stops_on_sigterm(
    pool: asyncpg.Pool, service_env: dict[str, str], stream: str
) -> None:
    t = tenant()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.projections",
        "worker",
        cwd=ROOT,
        env={**service_env, **WORKER_ENV},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await scenario(Writer(pool, t))
        await until(lambda: caught_up(pool))
        assert len((await tenant_rows(pool, t))["subscriptions"]) == 3
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, output.decode()
        assert "projection worker stopped" in output.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
