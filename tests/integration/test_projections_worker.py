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

from contracts.deadletters import CONSUMER_HEADER, ERROR_HEADER
from contracts.subjects import (
    appended_hint_subject,
    dead_letter_subject,
    durable_name,
    event_subject,
    events_stream,
    events_wildcard,
)
from contracts.subscription import Status
from plumbing.eventlog import COLUMNS, StoredEvent, stored_events
from plumbing.redelivery import Backoff
from services.projections.catalog import PROJECTIONS
from services.projections.config import Settings
from services.projections.runner import Catchup
from services.projections.worker import PROJECTION_HEADER, Worker
from tests.conftest import ROOT, tenant
from tests.helpers import until
from tests.integration.test_projections import (
    Writer,
    assert_equals_rebuild,
    caught_up,
    scenario,
    tenant_rows,
)

# Every worker of the run shares the durable consumer, so every one uses these settings.
WORKER_ENV = {
    "PROJECTIONS_MAX_DELIVERIES": "3",
    "PROJECTIONS_RETRY_DELAY": "0.05",
    "PROJECTIONS_RETRY_MAX_DELAY": "0.5",
    "PROJECTIONS_POLL_INTERVAL": "0.2",
    "PROJECTIONS_ACK_WAIT": "10",
}
DEAD_LETTERS = "select count(*) from read.dead_letters where event_id = $1"
ENVELOPES = f"select {COLUMNS} from events.events e where e.tenant_id = $1 order by e.position"


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
    rows = await pool.fetch(ENVELOPES, tenant_id)
    return [event.envelope().model_dump(mode="json") for event in stored_events(rows)]


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
    mine = [UUID(e["event_id"]) for e in published]
    dead = "select count(*) from read.dead_letters where event_id = any($1)"
    assert not await pool.fetchval(dead, mine)
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
    # Two broken events a buggy writer stored: only the first is ever published. Messages only
    # wake the worker: both are given up on the same way, by its passes.
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

    # One dead letter per projection and event, published before the record was committed.
    received: dict[tuple[str, UUID], dict[str, str]] = {}
    while len(received) < len(expected):
        letter = await asyncio.wait_for(letters.get(), timeout=30)
        key = (letter.headers[PROJECTION_HEADER], UUID(json.loads(letter.data)["event_id"]))
        assert key not in received, f"{key} dead-lettered twice"
        received[key] = letter.headers
    await nc.flush()
    assert set(received) == expected and letters.empty()
    for (_, event_id), headers in received.items():
        assert headers[CONSUMER_HEADER] == "projections"
        assert headers["Nats-Msg-Id"] == str(event_id)
        assert "to_status" in headers[ERROR_HEADER]
    await sub.unsubscribe()
    await assert_equals_rebuild(pool)  # rebuilds skip what was dead-lettered


async def test_an_event_is_given_up_on_only_once_its_dead_letter_went_out(
    pool: asyncpg.Pool,
) -> None:
    t = tenant()
    w = Writer(pool, t)
    contact = await w.register("contact", name="Nat Away")
    engineer = await w.register("engineer", name="Eve Engineer")
    first = await w.subscribe("SUB-000001", "First", contact_id=contact, engineer_id=engineer)
    poison = await _broken_status_change(pool, w, first)
    handling = [p() for p in PROJECTIONS.values() if "subscription.status_changed" in p.handles]
    announced: list[str] = []
    refused: list[str] = []

    async def announce(projection: str, event: StoredEvent, error: str, attempts: int) -> None:
        assert event.event_id == poison and attempts >= 2
        if projection not in refused:
            refused.append(projection)
            raise ConnectionError("NATS is away")
        announced.append(projection)

    catchup = Catchup(
        pool, handling, max_attempts=2, backoff=Backoff(0.01, 0.01), on_dead_letter=announce
    )

    async def given_up() -> bool:
        await catchup.catch_up()
        return await pool.fetchval(DEAD_LETTERS, poison) == len(handling)

    await until(given_up)
    # A refused announcement recorded nothing; the next attempt gave up for good, once.
    assert sorted(announced) == sorted(refused) == sorted(p.name for p in handling)
    everyone = Catchup(pool, [cls() for cls in PROJECTIONS.values()])

    async def past_it() -> bool:
        await everyone.catch_up()
        return await caught_up(pool)

    await until(past_it)  # every projection skips the poison event now


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
