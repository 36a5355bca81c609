"""The projection worker: catch-up passes woken by append hints, broker messages and a timer.

Every projection follows the event store, never the broker. Three things ask for a catch-up pass,
and callers arriving together share one (`Catchup.catch_up`):

- the core NATS hint `{ns}.hints.appended` that appending processes send after a commit: the
  quickest, but lost hints and events that become readable only when an older transaction ends
  (no hint then) are left to the next two;
- the durable consumer's messages, which the relay publishes once an event is readable
  (`wakeups.Wakeups`: acked after the pass they asked for);
- a timer, so gaps are filled without any message or hint.

An event a projection cannot apply is given up on by the runner alone (at once for a data error,
after one retry for an unexplained one; never for a database error), which records it and has
this worker publish it once on `{ns}.dlq.projections`.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts.subjects import (
    appended_hint_subject,
    dead_letter_subject,
    durable_name,
    events_stream,
    events_wildcard,
    projected_hint_subject,
)
from plumbing.broker import connect
from plumbing.eventlog import StoredEvent
from plumbing.postgres import Pool
from plumbing.redelivery import Backoff, Redelivery, dead_letter_headers

from .catalog import PROJECTIONS
from .config import Settings
from .failures import TRANSIENT
from .metrics import Metrics
from .runner import Catchup
from .wakeups import Durable, Wakeups

log = logging.getLogger(__name__)

CONSUMER = "projections"
NAME = "wispgate-projections"  # in pg_stat_activity and NATS's connection list
PROJECTION_HEADER = "Wispgate-Projection"
CONNECT_RETRY_SECONDS = 5.0
# Kept short: a dead letter is published inside the transaction that records it.
FLUSH_SECONDS = 2.0


class Worker:
    """One worker process: a pool, a NATS connection, the catch-up engine and its wake-ups."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = Redelivery(
            consumer=CONSUMER,
            dead_letter_subject=dead_letter_subject(settings.namespace, CONSUMER),
            max_deliveries=settings.max_deliveries,
            backoff=Backoff(settings.retry_delay, settings.retry_max_delay),
        )
        self.nc: NATS | None = None
        self.wakeups = Wakeups(
            self._connection, durable(settings), self._catch_up, self.policy, settings.ack_wait / 3
        )
        self.wake = asyncio.Event()
        self.pool: Pool | None = None
        self.catchup: Catchup | None = None

    @property
    def consuming(self) -> bool:
        """Whether the durable consumer is subscribed (messages published from now on arrive)."""
        return self.wakeups.ready.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and catch up until `stop` is set, then shut down cleanly."""
        self.pool = await self.settings.create_pool(NAME, self.settings.pool_size)
        self.catchup = Catchup(
            self.pool,
            [cls() for cls in PROJECTIONS.values()],
            batch_size=self.settings.batch_size,
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
            if self.nc is not None:
                await self.nc.close()
            await self.pool.close()
            log.info("projection worker stopped")

    def _connection(self) -> NATS:
        assert self.nc is not None
        return self.nc

    async def _consume(self, stop: asyncio.Event) -> None:
        """Connect, listen for hints and consume; until NATS answers and the stream exists
        (made by the subscription service's setup), the timer's passes keep read models current."""
        while self.nc is None and not stop.is_set():
            try:
                self.nc = await connect(self.settings.nats_url, NAME)
            except Exception as exc:
                log.warning("cannot reach NATS yet, trying again: %r", exc)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), CONNECT_RETRY_SECONDS)
        if self.nc is not None:
            await self.nc.subscribe(appended_hint_subject(self.settings.namespace), cb=self._hint)
            await self.wakeups.run(stop)

    async def _hint(self, _msg: Msg) -> None:
        self.wake.set()

    async def _catch_up(self) -> None:
        assert self.catchup is not None
        before = self.catchup.applied
        try:
            await self.catchup.catch_up()
        finally:
            if self.catchup.applied != before:
                await self._projected()

    async def _projected(self) -> None:
        """Tell waiting readers that read models moved on (a hint: they also look by themselves)."""
        if self.nc is not None and self.nc.is_connected:
            with suppress(Exception):
                await self.nc.publish(projected_hint_subject(self.settings.namespace), b"")

    async def _poll(self, stop: asyncio.Event, metrics: Metrics | None) -> None:
        stopping = asyncio.ensure_future(_set_when(stop, self.wake))
        try:
            while not stop.is_set():
                self.wake.clear()
                try:
                    await self._catch_up()
                except TRANSIENT as exc:  # the next pass tries again
                    log.warning("catch-up pass interrupted by the database: %r", exc)
                except Exception:
                    log.exception("catch-up pass failed")
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
        """Publish the envelope of an event a projection gave up on, with why, to the DLQ."""
        if self.nc is None or not self.nc.is_connected:
            # Not buffered for later: the record waits with it, and both are tried again.
            raise ConnectionError("NATS is away, the dead letter waits")
        headers = dead_letter_headers(None, CONSUMER, error, attempts)
        headers |= {PROJECTION_HEADER: projection, "Nats-Msg-Id": str(event.event_id)}
        body = event.envelope().model_dump_json().encode()
        await self.nc.publish(self.policy.dead_letter_subject, body, headers=headers)
        await self.nc.flush(timeout=FLUSH_SECONDS)


def durable(settings: Settings) -> Durable:
    """The worker's durable consumer on the events stream."""
    ns = settings.namespace
    config = ConsumerConfig(
        durable_name=durable_name(ns, CONSUMER),
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=settings.max_deliveries,
        ack_wait=settings.ack_wait,
        # A new consumer starts at the end: the past is read from the event store.
        deliver_policy=DeliverPolicy.NEW,
    )
    return Durable(events_wildcard(ns), events_stream(ns), config)


async def _set_when(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run one projection worker until `stop` is set."""
    await Worker(settings).run(stop)
