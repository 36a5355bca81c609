"""The projection worker: catch-up passes woken by append hints, broker messages and a timer.

Every projection follows the event store, never the broker. Three things ask for a catch-up pass,
and callers arriving together share one (`Catchup.catch_up`):

- the core NATS hint `{ns}.hints.appended` that appending processes send after a commit (the
  relay's wake-up too): the quickest, but lost hints and events that become readable only when an
  older transaction ends (no hint then) are left to the next two;
- the durable consumer's messages, which the relay publishes once an event is readable. They are
  read in batches (`consumer.Puller`); a batch shares one pass and each message is then settled
  on its own by `delivery.settle_batch`. A message fails only when its own event is the one a
  projection is stuck on; messages of events merely queued behind it are acked, since they are
  applied from the store once the stuck event is applied or skipped;
- a timer, so gaps are filled without any message or hint.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from uuid import UUID

import asyncpg
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts.subjects import (
    appended_hint_subject,
    dead_letter_subject,
    durable_name,
    events_stream,
    events_wildcard,
)

from .catalog import PROJECTIONS
from .config import Settings
from .consumer import Durable, Puller
from .db import create_pool
from .delivery import Backoff, Redelivery, dead_letter_headers, deliveries, settle_batch
from .metrics import Metrics
from .runner import Catchup
from .store import StoredEvent, metadata_json

log = logging.getLogger(__name__)

CONSUMER = "projections"
PROJECTION_HEADER = "Wispgate-Projection"
CONNECT_RETRY_SECONDS = 5.0
BATCH_SIZE = 100


class EventStuck(Exception):
    """A projection cannot apply this message's event (yet)."""


class NotAnEnvelope(Exception):
    """A message whose body does not name an event."""


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
        self.broker = NatsBroker(str(settings.nats_url))
        self.puller = Puller(lambda: self.broker.connection, self._durable(), self._on_batch)
        self.wake = asyncio.Event()
        self.pool: asyncpg.Pool | None = None
        self.catchup: Catchup | None = None

    @property
    def consuming(self) -> bool:
        """Whether the durable consumer is subscribed (messages published from now on arrive)."""
        return self.puller.ready.is_set()

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
        consuming = asyncio.ensure_future(self._consume(stop))
        try:
            await self._poll(stop, metrics)
        finally:
            # The batch being settled is finished; a wait for the next one is not.
            await asyncio.wait({consuming}, timeout=self.settings.ack_wait)
            consuming.cancel()
            with suppress(asyncio.CancelledError):
                await consuming
            await self.broker.stop()
            await self.pool.close()
            log.info("projection worker stopped")

    def _durable(self) -> Durable:
        ns = self.settings.namespace
        config = ConsumerConfig(
            durable_name=durable_name(ns, CONSUMER),
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=self.settings.max_deliveries,
            ack_wait=self.settings.ack_wait,
            # A new consumer starts at the end: the past is read from the event store.
            deliver_policy=DeliverPolicy.NEW,
        )
        return Durable(events_wildcard(ns), events_stream(ns), config, BATCH_SIZE)

    async def _consume(self, stop: asyncio.Event) -> None:
        """Connect, listen for hints and consume; until NATS answers and the stream exists
        (made by the subscription service's setup), the timer's passes keep read models current."""
        while not stop.is_set():
            try:
                await self.broker.start()
                hints = appended_hint_subject(self.settings.namespace)
                await self.broker.connection.subscribe(hints, cb=self._on_hint)
                break
            except Exception:
                log.warning("cannot reach NATS yet, trying again", exc_info=True)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CONNECT_RETRY_SECONDS)
        await self.puller.run(stop)

    async def _on_hint(self, _msg: Msg) -> None:
        self.wake.set()

    async def _on_batch(self, messages: list[Msg]) -> None:
        await settle_batch(
            messages, self._catch_up, self._failure_of, self.policy, self.broker, self._give_up
        )

    def _failure_of(self, msg: Msg) -> Exception | None:
        """Why a message's event is not applied after the pass: a projection stuck on it."""
        event_id = _event_id(msg)
        if event_id is None:
            return NotAnEnvelope(f"no event_id in a message on {msg.subject}")
        assert self.catchup is not None
        stuck = self.catchup.blocking(event_id)
        if not stuck:
            return None
        failure = stuck[0].failure
        assert failure is not None
        return EventStuck(f"{', '.join(t.projection.name for t in stuck)}: {failure.error}")

    async def _give_up(self, msg: Msg, exc: Exception) -> None:
        event_id = _event_id(msg)
        if event_id is not None and self.catchup is not None:
            await self.catchup.give_up(event_id, str(exc), deliveries(msg))

    async def _catch_up(self) -> None:
        assert self.catchup is not None
        try:
            await self.catchup.catch_up()
        except Exception:
            # Not the fault of any message: the timer tries again.
            log.exception("catch-up pass failed")

    async def _poll(self, stop: asyncio.Event, metrics: Metrics | None) -> None:
        stopping = asyncio.ensure_future(_set_when(stop, self.wake))
        try:
            while not stop.is_set():
                self.wake.clear()
                await self._catch_up()
                if metrics is not None:
                    await metrics.refresh()
                with suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.poll_interval):
                        await self.wake.wait()
        finally:
            stopping.cancel()

    async def _publish_dead_letter(
        self, projection: str, event: StoredEvent, error: str, attempts: int
    ) -> None:
        headers = dead_letter_headers(None, CONSUMER, error, attempts)
        headers |= {PROJECTION_HEADER: projection, "Nats-Msg-Id": str(event.event_id)}
        assert self.pool is not None
        metadata = await metadata_json(self.pool, event.event_id)
        body = event.envelope(metadata).model_dump_json().encode()
        await self.broker.publish(body, self.policy.dead_letter_subject, headers=headers)


def _event_id(msg: Msg) -> UUID | None:
    """The event a message announces; None when its body is not an envelope."""
    try:
        return UUID(json.loads(msg.data)["event_id"])
    except (ValueError, KeyError, TypeError):
        return None


async def _set_when(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run one projection worker until `stop` is set."""
    await Worker(settings).run(stop)
