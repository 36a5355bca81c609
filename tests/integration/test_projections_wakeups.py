"""The worker's durable consumer read as wake-ups (services/projections/wakeups.py), real NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType

from plumbing.redelivery import Backoff, Redelivery
from services.projections.wakeups import Durable, Wakeups
from tests.helpers import until

MAX_DELIVERIES = 3
DURABLE = "wakeup-test"


class Rig:
    """A stream, a dead-letter subscription and wake-ups whose pass fails while told to."""

    def __init__(self, nc: nats.NATS, namespace: str) -> None:
        self.nc, self.js = nc, nc.jetstream()
        self.stream, self.prefix = f"{namespace.upper()}_WAKEUPS", f"{namespace}.wakeups"
        self.policy = Redelivery(
            consumer=DURABLE,
            dead_letter_subject=f"{namespace}.dlq.{DURABLE}",
            max_deliveries=MAX_DELIVERIES,
            backoff=Backoff(base=0.05, cap=0.2),
        )
        self.dead: asyncio.Queue[Msg] = asyncio.Queue()
        self.passes = 0
        self.failing = 0  # passes still to fail
        self.always_failing = False
        self.stop = asyncio.Event()

    async def catch_up(self) -> None:
        self.passes += 1
        if self.failing or self.always_failing:
            self.failing = max(0, self.failing - 1)
            raise ConnectionRefusedError("PostgreSQL is away")

    async def publish(self, body: bytes) -> None:
        await self.js.publish(f"{self.prefix}.a", body, headers={"Nats-Msg-Id": body.decode()})

    async def settled(self) -> bool:
        info = await self.js.consumer_info(self.stream, DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0


@pytest.fixture
async def rig(nc: nats.NATS, namespace: str) -> AsyncIterator[Rig]:
    rig = Rig(nc, namespace)
    await rig.js.add_stream(name=rig.stream, subjects=[f"{rig.prefix}.>"], storage=StorageType.FILE)
    dead_sub = await nc.subscribe(rig.policy.dead_letter_subject, cb=rig.dead.put)
    await nc.flush()
    config = ConsumerConfig(
        durable_name=DURABLE,
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=MAX_DELIVERIES,
        ack_wait=30,
    )
    durable = Durable(f"{rig.prefix}.>", rig.stream, config, batch_size=10)
    wakeups = Wakeups(lambda: nc, durable, rig.catch_up, rig.policy, heartbeat=10)
    pulling = asyncio.create_task(wakeups.run(rig.stop))
    await until(lambda: asyncio.sleep(0, wakeups.ready.is_set()))
    try:
        yield rig
    finally:
        rig.stop.set()
        await asyncio.wait_for(pulling, timeout=30)
        await dead_sub.unsubscribe()
        await rig.js.delete_stream(rig.stream)


async def test_messages_are_acked_after_the_pass_they_asked_for(rig: Rig) -> None:
    for i in range(5):
        await rig.publish(f"event-{i}".encode())
    await until(rig.settled)
    assert 1 <= rig.passes <= 5  # messages that arrive together share a pass
    assert rig.dead.empty()


async def test_a_failed_pass_is_retried_through_its_message(rig: Rig) -> None:
    rig.failing = 1
    await rig.publish(b"event-0")
    await until(rig.settled)
    assert rig.passes == 2
    assert rig.dead.empty()


async def test_a_message_whose_passes_keep_failing_is_acked_after_its_last_delivery(
    rig: Rig,
) -> None:
    rig.always_failing = True
    await rig.publish(b"event-0")
    await until(rig.settled)
    # Never dead-lettered: its event is in the store, for the next pass to apply.
    assert rig.passes == MAX_DELIVERIES
    assert rig.dead.empty()

    rig.always_failing = False
    await rig.publish(b"event-1")
    await until(lambda: asyncio.sleep(0, rig.passes == MAX_DELIVERIES + 1))
    await until(rig.settled)


async def test_a_deleted_consumer_is_created_again(rig: Rig) -> None:
    await rig.publish(b"event-0")
    await until(lambda: asyncio.sleep(0, rig.passes == 1))
    await until(rig.settled)

    await rig.js.delete_consumer(rig.stream, DURABLE)
    await rig.publish(b"event-1")
    await until(lambda: asyncio.sleep(0, rig.passes == 2))
    await until(rig.settled)
