"""Retry and dead-letter decisions of services/projections/delivery.py on real NATS JetStream."""

from __future__ import annotations

import asyncio
from collections import Counter

import nats
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, StorageType

from services.projections.delivery import (
    CONSUMER_HEADER,
    DELIVERIES_HEADER,
    ERROR_HEADER,
    Backoff,
    Outcome,
    Redelivery,
    settle,
)
from tests.integration.test_projections import until

MAX_DELIVERIES = 3


async def test_a_message_that_always_fails_is_dead_lettered_and_others_proceed(
    nats_url: str, namespace: str, nc: nats.NATS
) -> None:
    stream, prefix = f"{namespace.upper()}_DELIVERY", f"{namespace}.delivery"
    dead_subject = f"{namespace}.dlq.delivery-test"
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[f"{prefix}.>"], storage=StorageType.FILE)
    dead: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()
    dead_sub = await nc.subscribe(dead_subject, cb=dead.put)
    await nc.flush()

    policy = Redelivery(
        consumer="delivery-test",
        dead_letter_subject=dead_subject,
        max_deliveries=MAX_DELIVERIES,
        backoff=Backoff(base=0.05, cap=0.2),
    )
    attempts: Counter[bytes] = Counter()
    handled: list[bytes] = []
    outcomes: list[tuple[bytes, Outcome]] = []
    broker = NatsBroker(nats_url)

    @broker.subscriber(
        f"{prefix}.>",
        stream=JStream(stream, declare=False),
        durable="delivery-test",
        config=ConsumerConfig(
            ack_policy=JsAckPolicy.EXPLICIT, max_deliver=MAX_DELIVERIES, ack_wait=30
        ),
        pull_sub=PullSub(batch_size=10, timeout=0.5),
        ack_policy=AckPolicy.MANUAL,
    )
    async def handle(msg: NatsMessage) -> None:
        async def work() -> None:
            attempts[msg.body] += 1
            if msg.body.startswith(b"poison"):
                raise ValueError("this handler always fails")
            handled.append(msg.body)

        outcomes.append((msg.body, await settle(msg, work, policy, broker)))

    await broker.start()
    try:
        await js.publish(f"{prefix}.a", b"poison-1", headers={"Nats-Msg-Id": "p1"})
        for i in range(3):
            await js.publish(f"{prefix}.a", f"good-{i}".encode())

        letter = await asyncio.wait_for(dead.get(), timeout=30)
        assert letter.data == b"poison-1"
        assert letter.headers is not None
        assert letter.headers[CONSUMER_HEADER] == "delivery-test"
        assert "this handler always fails" in letter.headers[ERROR_HEADER]
        assert letter.headers[DELIVERIES_HEADER] == str(MAX_DELIVERIES)
        assert letter.headers["Nats-Msg-Id"] == "p1"
        assert attempts[b"poison-1"] == MAX_DELIVERIES
        assert (b"poison-1", Outcome.DEAD_LETTERED) in outcomes
        assert [o for b, o in outcomes if b == b"poison-1"].count(Outcome.RETRYING) == 2

        # Messages behind it were never held up, and later ones still go through.
        await js.publish(f"{prefix}.b", b"good-after")
        await until(lambda: asyncio.sleep(0, len(handled) == 4))
        assert sorted(handled) == [b"good-0", b"good-1", b"good-2", b"good-after"]

        async def settled() -> bool:
            info = await js.consumer_info(stream, "delivery-test")
            return info.num_pending == 0 and info.num_ack_pending == 0

        await until(settled)
        assert dead.empty() and attempts[b"poison-1"] == MAX_DELIVERIES
    finally:
        await broker.stop()
        await dead_sub.unsubscribe()
        await js.delete_stream(stream)
