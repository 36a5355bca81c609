"""Wake-ups on JetStream: `{"import_id": ...}` on `{ns}.imports.queued`, sent by the API.

Read through a FastStream pull subscriber on the durable `{ns}-importer`, which every worker
shares. Acknowledgement is manual, chosen per message as the projections do (their
delivery.py; services never import each other): a message is acked once PostgreSQL confirms its
job is stored (the job is then safe whatever happens to the message); when PostgreSQL cannot be
asked, or does not know the job yet, the message is sent back with a delay that doubles per
delivery; on its last allowed delivery, or when it is not a wake-up at all, it is published to
`{ns}.dlq.importer` and acked, so it never blocks the ones behind it. FastStream's default of
dropping a message whose handler raised is never used.
"""

from __future__ import annotations

import asyncio
import json
import logging
from uuid import UUID

import asyncpg
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig

from contracts.subjects import (
    dead_letter_subject,
    durable_name,
    import_queued_subject,
    imports_stream,
)

from . import jobs
from .config import Settings

log = logging.getLogger(__name__)

CONSUMER = "importer"
ERROR_HEADER = "Wispgate-Error"
CONSUMER_HEADER = "Wispgate-Consumer"
DELIVERIES_HEADER = "Wispgate-Deliveries"
MAX_RETRY_DELAY = 60.0


class NotAWakeUp(Exception):
    """A message whose body does not name an import job."""


class UnknownJob(Exception):
    """PostgreSQL has no job of this id (yet)."""


class WakeUps:
    """Subscribes the worker to wake-ups; each confirmed one sets `wake`."""

    def __init__(self, broker: NatsBroker, settings: Settings, wake: asyncio.Event) -> None:
        self.broker = broker
        self.settings = settings
        self.wake = wake
        self.pool: asyncpg.Pool | None = None
        ns = settings.namespace
        self.dead_letters = dead_letter_subject(ns, CONSUMER)
        subscriber = broker.subscriber(
            import_queued_subject(ns),
            stream=JStream(imports_stream(ns), declare=False),
            durable=durable_name(ns, CONSUMER),
            config=ConsumerConfig(
                ack_policy=JsAckPolicy.EXPLICIT,
                max_deliver=settings.max_deliveries,
                ack_wait=settings.ack_wait,
            ),
            pull_sub=PullSub(batch_size=10, timeout=5.0),
            ack_policy=AckPolicy.MANUAL,
            title="importer wake-ups",
        )
        subscriber(self.handle)

    async def handle(self, message: NatsMessage) -> None:
        """Wake the worker for a stored job; retry or dead-letter anything else."""
        try:
            import_id = _import_id(message.raw_message.data)
        except NotAWakeUp as exc:
            await self._dead_letter(message, exc)
            return
        try:
            await self._confirm(import_id)
        except Exception as exc:
            await self._retry(message, exc)
            return
        self.wake.set()
        await message.ack()

    async def _confirm(self, import_id: UUID) -> None:
        if self.pool is None:
            raise RuntimeError("the worker has no database pool yet")
        if await jobs.state_of(self.pool, import_id) is None:
            raise UnknownJob(f"no import job {import_id}")

    async def _retry(self, message: NatsMessage, exc: Exception) -> None:
        delivered = _deliveries(message)
        if delivered >= self.settings.max_deliveries:
            await self._dead_letter(message, exc)
            return
        delay = min(MAX_RETRY_DELAY, self.settings.retry_delay * 2 ** (delivered - 1))
        log.warning("wake-up not confirmed, retrying later: %r", exc, extra={"delay": delay})
        await message.nack(delay=delay)

    async def _dead_letter(self, message: NatsMessage, exc: Exception) -> None:
        # Published before the ack: a crash in between delivers it again rather than losing it.
        headers = {
            ERROR_HEADER: " ".join(repr(exc).split())[:1000],
            CONSUMER_HEADER: CONSUMER,
            DELIVERIES_HEADER: str(_deliveries(message)),
        }
        await self.broker.publish(message.raw_message.data, self.dead_letters, headers=headers)
        await message.ack()
        log.error("wake-up dead-lettered: %r", exc, extra={"subject": self.dead_letters})


def _import_id(body: bytes) -> UUID:
    try:
        return UUID(str(json.loads(body)["import_id"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise NotAWakeUp(f"not a wake-up: {body[:200]!r}") from exc


def _deliveries(message: NatsMessage) -> int:
    return int(message.raw_message.metadata.num_delivered)
