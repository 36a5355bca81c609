"""The projection worker: catch-up passes woken by broker messages, NOTIFY and a timer.

Every projection follows the event store, never the broker: a message only asks for a catch-up
pass (many messages share one) and is then settled by `delivery.settle`. It fails only when its
own event is the one a projection is stuck on; messages of events merely queued behind it are
acked, since they are applied from the store once the stuck event is applied or skipped. A timer
(and the store's NOTIFY) runs passes too, so gaps are filled without any message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from uuid import UUID

import asyncpg
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.subjects import dead_letter_subject, durable_name, events_stream, events_wildcard

from .catalog import PROJECTIONS
from .config import Settings
from .db import create_pool
from .delivery import Backoff, Redelivery, dead_letter_headers, deliveries, settle
from .metrics import Metrics
from .runner import Catchup
from .store import StoredEvent, metadata_json

log = logging.getLogger(__name__)

CONSUMER = "projections"
NOTIFY_CHANNEL = "wispgate_events_appended"
PROJECTION_HEADER = "Wispgate-Projection"
CONSUME_RETRY_SECONDS = 5.0


class EventStuck(Exception):
    """A projection cannot apply this message's event (yet)."""


class Worker:
    """One worker process: a pool, a broker, the catch-up engine and its wake-ups."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ns = settings.namespace
        self.policy = Redelivery(
            consumer=CONSUMER,
            dead_letter_subject=dead_letter_subject(ns, CONSUMER),
            max_deliveries=settings.max_deliveries,
            backoff=Backoff(settings.retry_delay, settings.retry_max_delay),
            heartbeat=settings.ack_wait / 3,
        )
        self.broker = NatsBroker(str(settings.nats_url), graceful_timeout=settings.ack_wait)
        self.wake = asyncio.Event()
        self.pool: asyncpg.Pool | None = None
        self.catchup: Catchup | None = None
        self._subscribe()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and catch up until `stop` is set, then shut down cleanly."""
        self.pool = await create_pool(self.settings.dsn, self.settings.pool_size)
        self.catchup = Catchup(
            self.pool,
            [cls() for cls in PROJECTIONS.values()],
            batch_size=self.settings.batch_size,
            max_attempts=self.settings.max_deliveries,
            backoff=self.policy.backoff,
            on_dead_letter=self._publish_dead_letter,
        )
        metrics = Metrics.start(self.settings.metrics_port, self.pool, self.catchup)
        listener = await self._listen()
        consuming = asyncio.ensure_future(self._consume(stop))
        try:
            await self._poll(stop, metrics)
        finally:
            consuming.cancel()
            with suppress(asyncio.CancelledError):
                await consuming
            await self.broker.stop()
            if listener is not None:
                with suppress(Exception):
                    await listener.close()
            await self.pool.close()
            log.info("projection worker stopped")

    def _subscribe(self) -> None:
        ns = self.settings.namespace
        config = ConsumerConfig(
            durable_name=durable_name(ns, CONSUMER),
            ack_policy=JsAckPolicy.EXPLICIT,
            max_deliver=self.settings.max_deliveries,
            ack_wait=self.settings.ack_wait,
            # A new consumer starts at the end: the past is read from the event store.
            deliver_policy=DeliverPolicy.NEW,
        )
        subscriber = self.broker.subscriber(
            events_wildcard(ns),
            stream=JStream(events_stream(ns), declare=False),
            durable=durable_name(ns, CONSUMER),
            config=config,
            pull_sub=PullSub(batch_size=100, timeout=2.0),
            ack_policy=AckPolicy.MANUAL,
        )
        subscriber(self._on_message)

    async def _consume(self, stop: asyncio.Event) -> None:
        """Start consuming; until the stream exists (made by the subscription service's setup),
        keep trying while the timer's passes keep the read models current."""
        while not stop.is_set():
            try:
                await self.broker.start()
                log.info("projection worker consuming", extra={"consumer": self.policy.consumer})
                return
            except Exception:
                log.warning("cannot consume events yet, trying again", exc_info=True)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CONSUME_RETRY_SECONDS)

    async def _on_message(self, msg: NatsMessage) -> None:
        event_id: UUID | None = None

        async def work() -> None:
            nonlocal event_id
            event_id = UUID(json.loads(msg.body)["event_id"])
            await self._catch_up()
            assert self.catchup is not None
            stuck = self.catchup.blocking(event_id)
            if stuck:
                failure = stuck[0].failure
                assert failure is not None
                names = ", ".join(t.projection.name for t in stuck)
                raise EventStuck(f"{names}: {failure.error}")

        async def give_up(exc: Exception) -> None:
            if event_id is not None and self.catchup is not None:
                await self.catchup.give_up(event_id, str(exc), deliveries(msg))

        await settle(msg, work, self.policy, self.broker, give_up)

    async def _catch_up(self) -> None:
        assert self.catchup is not None
        try:
            await self.catchup.catch_up()
        except Exception:
            # Not the fault of any message: the timer tries again.
            log.exception("catch-up pass failed")

    async def _poll(self, stop: asyncio.Event, metrics: Metrics | None) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self.wake.clear()
                await self._catch_up()
                if metrics is not None:
                    await metrics.refresh()
                waking = asyncio.ensure_future(self.wake.wait())
                await asyncio.wait(
                    {stopping, waking},
                    timeout=self.settings.poll_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waking.cancel()
        finally:
            stopping.cancel()

    async def _listen(self) -> asyncpg.Connection | None:
        """LISTEN for the store's append notifications: a hint only, the timer is the floor."""
        try:
            conn = await asyncpg.connect(self.settings.dsn)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake.set())
            return conn
        except Exception:
            log.warning("cannot LISTEN for appended events; polling only", exc_info=True)
            return None

    async def _publish_dead_letter(
        self, projection: str, event: StoredEvent, error: str, attempts: int
    ) -> None:
        headers = dead_letter_headers(None, CONSUMER, error, attempts)
        headers |= {PROJECTION_HEADER: projection, "Nats-Msg-Id": str(event.event_id)}
        assert self.pool is not None
        metadata = await metadata_json(self.pool, event.event_id)
        body = event.envelope(metadata).model_dump_json().encode()
        await self.broker.publish(body, self.policy.dead_letter_subject, headers=headers)


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run one projection worker until `stop` is set."""
    await Worker(settings).run(stop)
