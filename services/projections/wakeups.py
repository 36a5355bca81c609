"""The durable consumer's messages, read as wake-ups of the projection worker.

The worker applies events from the event store, never from messages: a message only says that an
event was published. So each batch of messages asks for one catch-up pass and is acked once it
has run. When the pass fails (PostgreSQL away, ...) every message of the batch is nak'ed with a
growing delay, and on its last allowed delivery acked all the same and logged: its event is in
the store, where the next pass (another message, an append hint or the timer) finds it. An event
that cannot be applied is the runner's to retry and give up on, never a message's.

The consumer is pulled with nats-py directly, not through FastStream: its subscriber spent more
CPU per message than the passes they ask for, and its batch mode waits out a whole window per
batch. This loop waits for one message, takes whatever else is ready within a few milliseconds,
and while that batch's pass runs, the next batch gathers on the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from nats.js.client import JetStreamContext

from plumbing.redelivery import Redelivery, deliveries, with_heartbeat

log = logging.getLogger(__name__)

FETCH_WAIT = 2.0  # how long one waiting pull request lasts before the next is made
GATHER_WAIT = 0.005  # once a message came, how long the rest of its batch may take to arrive
RETRY_SECONDS = 1.0

Pass = Callable[[], Awaitable[None]]
"""One catch-up pass; raises when it could not run through."""


@dataclass(frozen=True)
class Durable:
    """Where a durable consumer reads and how it is created when it does not exist yet."""

    subject: str
    stream: str
    config: ConsumerConfig
    batch_size: int = 100


class Wakeups:
    """Pulls a durable consumer until stopped, a pass per batch; `ready` is set once subscribed."""

    def __init__(
        self,
        connection: Callable[[], NATS],
        durable: Durable,
        catch_up: Pass,
        policy: Redelivery,
        heartbeat: float,
    ) -> None:
        self.connection = connection
        self.durable = durable
        self.catch_up = catch_up
        self.policy = policy
        self.heartbeat = heartbeat  # below the consumer's ack_wait: long passes report progress
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe, trying again until the stream exists, then pull until `stop` is set."""
        while not stop.is_set():
            try:
                sub = await self._subscribe()
            except Exception:
                log.warning("cannot consume yet, trying again", exc_info=True)
                await _pause(stop, RETRY_SECONDS * 5)
                continue
            self.ready.set()
            log.info("consuming", extra={"durable": self.durable.config.durable_name})
            try:
                await self._pull(sub, stop)
            finally:
                with suppress(Exception):
                    await sub.unsubscribe()

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        d = self.durable
        js = self.connection().jetstream()
        return await js.pull_subscribe(
            d.subject, durable=d.config.durable_name, stream=d.stream, config=d.config
        )

    async def _pull(self, sub: JetStreamContext.PullSubscription, stop: asyncio.Event) -> None:
        """Handle batches until stopped, or until a fetch fails or the consumer is gone (`run`
        subscribes again). A batch being handled is finished, a waiting fetch is not."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                fetching = asyncio.ensure_future(self._next_batch(sub))
                await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetching.done():
                    fetching.cancel()
                    with suppress(asyncio.CancelledError):
                        await fetching
                    return
                if (error := fetching.exception()) is not None:
                    log.warning("cannot fetch messages, subscribing again: %r", error)
                    await _pause(stop, RETRY_SECONDS)
                    return
                if batch := fetching.result():
                    await self._handle(batch)
        finally:
            stopping.cancel()

    async def _next_batch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        try:
            batch = await sub.fetch(1, timeout=FETCH_WAIT)
        except TimeoutError:  # nats-py's timeouts derive from asyncio's
            # Pulling from a deleted consumer times out too: while idle, make sure it exists.
            await sub.consumer_info()
            return []
        if self.durable.batch_size > 1:
            try:
                batch += await sub.fetch(self.durable.batch_size - 1, timeout=GATHER_WAIT)
            except TimeoutError:
                pass  # nothing else was ready
            except Exception as exc:  # the message in hand is still handled
                log.warning("cannot fetch more messages: %r", exc)
        return batch

    async def _handle(self, batch: list[Msg]) -> None:
        failure: Exception | None = None
        try:
            await with_heartbeat(batch, self.catch_up, self.heartbeat)
        except Exception as exc:
            failure = exc
            log.warning("catch-up pass failed: %r", exc, extra={"messages": len(batch)})
        for msg in batch:
            try:
                await self._settle(msg, failure)
            except Exception as exc:  # NATS away: the broker redelivers after ack_wait
                log.warning("cannot settle a message: %r", exc, extra={"subject": msg.subject})

    async def _settle(self, msg: Msg, failure: Exception | None) -> None:
        """Ack once the pass ran; after a failed pass, retry later while deliveries are left."""
        delivered = deliveries(msg)
        if failure is not None and delivered < self.policy.max_deliveries:
            await msg.nak(delay=self.policy.backoff.delay(delivered))
            return
        await msg.ack()
        if failure is not None:
            log.warning(
                "wake-up acked after failed passes; the next pass applies its event",
                extra={"consumer": self.policy.consumer, "subject": msg.subject,
                       "deliveries": delivered, "error": repr(failure)},
            )  # fmt: skip


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
