"""Wake-ups on JetStream: acked once their job is confirmed, dead-lettered when they cannot be."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import nats
import pytest

from contracts.deadletters import CONSUMER_HEADER, DELIVERIES_HEADER, ERROR_HEADER
from contracts.subjects import dead_letter_subject, import_queued_subject, imports_stream
from services.importer.config import Settings
from services.importer.stream import ensure_stream
from services.importer.worker import Worker
from tests.importer.test_jobs import queued


@pytest.fixture
async def worker(
    lab_pool: asyncpg.Pool, lab_database_url: str, nats_url: str, lab_namespace: str
) -> AsyncIterator[Worker]:
    """A worker run in the test, retrying wake-ups quickly and giving up on the second."""
    await ensure_stream(nats_url, lab_namespace)
    settings = Settings(
        database_url=lab_database_url,
        nats_url=nats_url,
        namespace=lab_namespace,
        max_deliveries=2,
        retry_delay=0.1,
        poll_interval=60,
    )
    running = Worker(settings)
    stop = asyncio.Event()
    task = asyncio.ensure_future(running.run(stop))
    yield running
    stop.set()
    await asyncio.wait_for(task, 30)


async def dead_letters(nc: nats.NATS, namespace: str) -> asyncio.Queue[nats.aio.msg.Msg]:
    received: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()
    await nc.subscribe(dead_letter_subject(namespace, "importer"), cb=received.put)
    return received


async def pending(nc: nats.NATS, namespace: str) -> int:
    return int((await nc.jetstream().stream_info(imports_stream(namespace))).state.messages)


async def test_a_wake_up_for_a_stored_job_is_acked(
    worker: Worker, nc: nats.NATS, lab_pool: asyncpg.Pool, lab_namespace: str
) -> None:
    job_id = await queued(lab_pool)
    body = json.dumps({"import_id": str(job_id)}).encode()
    await nc.jetstream().publish(import_queued_subject(lab_namespace), body)
    for _ in range(400):
        state = await lab_pool.fetchval("select state from imports.jobs where id = $1", job_id)
        if state == "failed" and not await pending(nc, lab_namespace):
            break
        await asyncio.sleep(0.05)
    assert await pending(nc, lab_namespace) == 0
    message = await lab_pool.fetchval("select message from imports.jobs where id = $1", job_id)
    assert message.startswith("This file is not an .xlsx workbook")


async def test_a_message_that_is_not_a_wake_up_is_dead_lettered_at_once(
    worker: Worker, nc: nats.NATS, lab_namespace: str
) -> None:
    received = await dead_letters(nc, lab_namespace)
    await nc.jetstream().publish(import_queued_subject(lab_namespace), b"hello")
    letter = await asyncio.wait_for(received.get(), 20)
    assert letter.data == b"hello"
    assert letter.headers is not None
    assert letter.headers[CONSUMER_HEADER] == "importer"
    assert letter.headers[DELIVERIES_HEADER] == "1"
    assert "not a wake-up" in letter.headers[ERROR_HEADER]


async def test_a_wake_up_for_an_unknown_job_is_retried_then_dead_lettered(
    worker: Worker, nc: nats.NATS, lab_namespace: str
) -> None:
    received = await dead_letters(nc, lab_namespace)
    body = json.dumps({"import_id": str(uuid.uuid4())}).encode()
    await nc.jetstream().publish(import_queued_subject(lab_namespace), body)
    letter = await asyncio.wait_for(received.get(), 20)
    assert letter.data == body
    assert letter.headers is not None
    assert letter.headers[DELIVERIES_HEADER] == "2"
    assert "UnknownJob" in letter.headers[ERROR_HEADER]
