"""A durable JetStream pull consumer read in batches, for handlers that settle a batch at once.

The projection worker's messages are wake-ups: handling them one by one gains nothing. FastStream's
subscriber spent more CPU per message (context scopes, two log lines, dependency injection with a
hop to a thread) than the catch-up passes the messages ask for. Its batch mode waits out a whole
window per batch, and with nats-py 2.16 it loses the messages already gathered when a fetch ends
with asyncio's TimeoutError (it catches only nats-py's), leaving them to the ack timeout. So this
loop waits for one message, takes whatever else is ready within a few milliseconds and hands the
batch to a handler that settles every message explicitly (`delivery.settle_batch`); while it is
handled, the next batch gathers on the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

FETCH_WAIT = 2.0  # how long one waiting pull request lasts before the next is made
GATHER_WAIT = 0.005  # once a message came, how long the rest of its batch may take to arrive
RETRY_SECONDS = 1.0

Handler = Callable[[list[Msg]], Awaitable[None]]


@dataclass(frozen=True)
class Durable:
    """Where a durable consumer reads and how it is created when it does not exist yet."""

    subject: str
    stream: str
    config: ConsumerConfig
    batch_size: int = 100


class Puller:
    """Reads one durable consumer in batches until stopped; `ready` is set once subscribed."""

    def __init__(
        self,
        connection: Callable[[], Client],
        durable: Durable,
        handle: Handler,
    ) -> None:
        self.connection = connection
        self.durable = durable
        self.handle = handle
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
        """Hand over batches until stopped, or until a fetch fails or the consumer is gone (`run`
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

    async def _handle(self, batch: list[Msg]) -> None:
        try:
            await self.handle(batch)
        except Exception:
            # The handler settles each message; what it could not settle the broker redelivers.
            log.exception("handling a batch failed", extra={"messages": len(batch)})

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


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
