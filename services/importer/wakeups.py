"""Wake-ups on JetStream: `{"import_id": ...}` on `{ns}.imports.queued`, sent by the API.

Read through a FastStream pull subscriber on the durable `{ns}-importer`, which every worker
shares. Acknowledgement is manual, each message settled by plumbing.redelivery: acked once
PostgreSQL confirms its job is stored (the job is then safe whatever happens to the message);
when PostgreSQL cannot be asked, or does not know the job yet, sent back with a delay that
doubles per delivery; on its last allowed delivery, or at once when it is not a wake-up at all,
published to `{ns}.dlq.importer` (headers of contracts.deadletters) and acked, so it never
blocks the ones behind it. FastStream's default of dropping a message whose handler raised is
never used.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from plumbing.redelivery import Backoff, Redelivery, settle

from . import jobs
from .config import Settings

log = logging.getLogger(__name__)

CONSUMER = "importer"
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
        self.policy = Redelivery(
            consumer=CONSUMER,
            dead_letter_subject=dead_letter_subject(ns, CONSUMER),
            max_deliveries=settings.max_deliveries,
            backoff=Backoff(base=settings.retry_delay, cap=MAX_RETRY_DELAY),
        )
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
        msg, nc = message.raw_message, self.broker.connection
        try:
            import_id = _import_id(msg.data)
        except NotAWakeUp as exc:
            # No later delivery will make it one: given up on at once.
            await settle(msg, exc, dataclasses.replace(self.policy, max_deliveries=1), nc)
            return
        try:
            await self._confirm(import_id)
        except Exception as exc:
            await settle(msg, exc, self.policy, nc)
            return
        self.wake.set()
        await settle(msg, None, self.policy, nc)

    async def _confirm(self, import_id: UUID) -> None:
        if self.pool is None:
            raise RuntimeError("the worker has no database pool yet")
        if await jobs.state_of(self.pool, import_id) is None:
            raise UnknownJob(f"no import job {import_id}")


def _import_id(body: bytes) -> UUID:
    try:
        return UUID(str(json.loads(body)["import_id"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise NotAWakeUp(f"not a wake-up: {body[:200]!r}") from exc
