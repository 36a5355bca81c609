"""Batches pulled by services/projections/consumer.py and settled by delivery.py, on real NATS."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType

from services.projections.consumer import Durable, Puller
from services.projections.delivery import (
    CONSUMER_HEADER,
    DELIVERIES_HEADER,
    ERROR_HEADER,
    Backoff,
    Outcome,
    Redelivery,
    settle_batch,
)
from tests.integration.test_projections import until

MAX_DELIVERIES = 3
Work = Callable[[], Awaitable[None]]


class Rig:
    """A stream, a dead-letter subscription and a puller whose batches settle_batch settles."""

    def __init__(self, nc: nats.NATS, nats_url: str, namespace: str) -> None:
        self.js = nc.jetstream()
        self.nc = nc
        self.stream, self.prefix = f"{namespace.upper()}_DELIVERY", f"{namespace}.delivery"
        self.policy = Redelivery(
            consumer="delivery-test",
            dead_letter_subject=f"{namespace}.dlq.delivery-test",
            max_deliveries=MAX_DELIVERIES,
            backoff=Backoff(base=0.05, cap=0.2),
        )
        self.broker = NatsBroker(nats_url)
        self.dead: asyncio.Queue[Msg] = asyncio.Queue()
        self.attempts: Counter[bytes] = Counter()
        self.handled: list[bytes] = []
        self.given_up: list[bytes] = []
        self.outcomes: list[tuple[bytes, Outcome]] = []
        self.work: Work = _nothing
        self.stop = asyncio.Event()

    def failure_of(self, msg: Msg) -> Exception | None:
        self.attempts[msg.data] += 1
        if msg.data.startswith(b"poison"):
            return ValueError("this message always fails")
        self.handled.append(msg.data)
        return None

    async def on_batch(self, messages: list[Msg]) -> None:
        outcomes = await settle_batch(
            messages, self.work, self.failure_of, self.policy, self.broker, self.on_dead_letter
        )
        self.outcomes += [(m.data, o) for m, o in zip(messages, outcomes, strict=True)]

    async def on_dead_letter(self, msg: Msg, exc: Exception) -> None:
        self.given_up.append(msg.data)

    async def publish(self, suffix: str, body: bytes) -> None:
        subject, msg_id = f"{self.prefix}.{suffix}", body.decode()
        await self.js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})

    async def settled(self) -> bool:
        info = await self.js.consumer_info(self.stream, "delivery-test")
        return info.num_pending == 0 and info.num_ack_pending == 0


@pytest.fixture
async def rig(nc: nats.NATS, nats_url: str, namespace: str) -> AsyncIterator[Rig]:
    rig = Rig(nc, nats_url, namespace)
    await rig.js.add_stream(name=rig.stream, subjects=[f"{rig.prefix}.>"], storage=StorageType.FILE)
    dead_sub = await nc.subscribe(rig.policy.dead_letter_subject, cb=rig.dead.put)
    await nc.flush()
    await rig.broker.start()
    config = ConsumerConfig(
        durable_name="delivery-test",
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=MAX_DELIVERIES,
        ack_wait=30,
    )
    durable = Durable(f"{rig.prefix}.>", rig.stream, config, batch_size=10)
    puller = Puller(lambda: rig.broker.connection, durable, rig.on_batch)
    pulling = asyncio.create_task(puller.run(rig.stop))
    await until(lambda: asyncio.sleep(0, puller.ready.is_set()))
    try:
        yield rig
    finally:
        rig.stop.set()
        await asyncio.wait_for(pulling, timeout=30)
        await rig.broker.stop()
        await dead_sub.unsubscribe()
        await rig.js.delete_stream(rig.stream)


async def _nothing() -> None:
    return None


async def test_a_message_that_always_fails_is_dead_lettered_and_others_proceed(rig: Rig) -> None:
    await rig.publish("a", b"poison-1")
    for i in range(3):
        await rig.publish("a", f"good-{i}".encode())

    letter = await asyncio.wait_for(rig.dead.get(), timeout=30)
    assert letter.data == b"poison-1"
    assert letter.headers is not None
    assert letter.headers[CONSUMER_HEADER] == "delivery-test"
    assert "this message always fails" in letter.headers[ERROR_HEADER]
    assert letter.headers[DELIVERIES_HEADER] == str(MAX_DELIVERIES)
    assert letter.headers["Nats-Msg-Id"] == "poison-1"
    assert rig.attempts[b"poison-1"] == MAX_DELIVERIES
    assert rig.given_up == [b"poison-1"]
    assert (b"poison-1", Outcome.DEAD_LETTERED) in rig.outcomes
    assert [o for b, o in rig.outcomes if b == b"poison-1"].count(Outcome.RETRYING) == 2

    # Messages behind it were never held up, and later ones still go through.
    await rig.publish("b", b"good-after")
    await until(lambda: asyncio.sleep(0, len(rig.handled) == 4))
    assert sorted(rig.handled) == [b"good-0", b"good-1", b"good-2", b"good-after"]
    await until(rig.settled)
    assert rig.dead.empty() and rig.attempts[b"poison-1"] == MAX_DELIVERIES


async def test_when_the_shared_work_fails_every_message_of_the_batch_is_retried(rig: Rig) -> None:
    passes = 0

    async def fails_once() -> None:
        nonlocal passes
        passes += 1
        if passes == 1:
            raise RuntimeError("the database went away")

    rig.work = fails_once
    await rig.publish("a", b"good-0")
    await until(lambda: asyncio.sleep(0, rig.handled == [b"good-0"]))
    assert [o for _, o in rig.outcomes] == [Outcome.RETRYING, Outcome.ACKED]
    await until(rig.settled)
    assert rig.dead.empty() and not rig.given_up


async def test_a_deleted_consumer_is_created_again(rig: Rig) -> None:
    await rig.publish("a", b"good-0")
    await until(lambda: asyncio.sleep(0, b"good-0" in rig.handled))
    await until(rig.settled)

    await rig.js.delete_consumer(rig.stream, "delivery-test")
    await rig.publish("a", b"good-1")
    await until(lambda: asyncio.sleep(0, b"good-1" in rig.handled))
    await until(rig.settled)
