"""JetStream for the relay: the events stream's configuration and readiness, publishing a batch.

The stream belongs to the project's setup: subscribers bind to it without redeclaring it.

This module uses nats-py's JetStream client rather than FastStream's NatsBroker (which wraps it).
NatsBroker.publish(stream=...) does return the PubAck and pass headers, but it awaits each
message's ack as a request of its own; published concurrently, the wire order of a batch would
depend on task scheduling through FastStream's middleware chain. `JetStreamContext.publish_async`
writes messages in call order and hands back ack futures, so a batch goes out in commit order and
its acks are awaited together. A batch is written to the socket in one burst: the relay's context
lets a whole batch be pending (`publisher`), so no publish waits for a free slot, and nothing
yields to the connection's flusher before the last message is queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from contracts.subjects import check_namespace, event_subject, events_stream, events_wildcard
from plumbing.broker import ensure_stream as ensure
from plumbing.broker import nats_ready as ready
from plumbing.broker import stream_ready as exists
from plumbing.eventlog import StoredEvent

log = logging.getLogger(__name__)

# The broker drops a message whose Nats-Msg-Id it saw within this window. The relay re-publishes
# an unacknowledged batch after at most a second of backoff (see relay.py), and a relay
# taking over after a crash re-publishes the batch the dead one had not checkpointed; ten
# minutes covers both with a wide margin, so consumers normally never see a relay's duplicate.
# A relay down for longer than this re-publishes at most one batch the broker then keeps:
# consumers are idempotent, so that costs work, not correctness.
DUPLICATE_WINDOW_SECONDS = 600.0


def stream_config(namespace: str, max_age_days: float = 7.0, replicas: int = 1) -> StreamConfig:
    """Configuration of the events stream of a namespace."""
    return StreamConfig(
        name=events_stream(check_namespace(namespace)),
        description="Every event of the WISPGate event store, published by its relay",
        subjects=[events_wildcard(namespace)],
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        max_age=max_age_days * 86400,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


# Fields setup brings an existing stream to; every other one an operator may have tuned (limits,
# placement) is kept.
MANAGED_FIELDS = ("subjects", "max_age", "duplicate_window", "retention", "discard", "num_replicas")


async def ensure_stream(
    nats_url: str, namespace: str, max_age_days: float = 7.0, replicas: int = 1
) -> None:
    """Create the events stream, or bring an existing one to these settings; idempotent."""
    await ensure(nats_url, stream_config(namespace, max_age_days, replicas), MANAGED_FIELDS)


async def nats_ready(nats_url: str, namespace: str, wait_seconds: float = 1.0) -> bool:
    """Whether NATS answers and the events stream exists, within a second; never raises."""
    return await ready(nats_url, events_stream(namespace), wait_seconds)


async def stream_ready(nc: NATS, namespace: str, wait_seconds: float = 1.0) -> bool:
    """Whether the events stream exists, over a connection the caller already holds."""
    return await exists(nc, events_stream(namespace), wait_seconds)


def publisher(nc: NATS, max_batch: int, timeout: float) -> JetStreamContext:
    """A JetStream context for `publish_batch` of batches up to `max_batch` events."""
    return nc.jetstream(timeout=timeout, publish_async_max_pending=max_batch)


async def publish_batch(
    js: JetStreamContext, namespace: str, batch: Sequence[StoredEvent], ack_wait: float = 5.0
) -> int:
    """Publish events in order and await every PubAck: how many the broker already had.

    Raises (after logging the first event concerned) when any ack is missing or an error.
    Reuse one `js` per connection, made by `publisher` for batches at least this long:
    publish_async subscribes its ack inbox once per context.
    """
    acks: list[asyncio.Future[Any]] = []
    stream = events_stream(namespace)
    try:
        for event in batch:
            acks.append(
                await js.publish_async(
                    event_subject(namespace, event.tenant_id, event.type),
                    event.envelope_json(),
                    # No wait for a free slot (`publisher` leaves one per event of a batch): a
                    # wait would yield, and the flusher would write message by message.
                    wait_stall=None,
                    stream=stream,
                    headers={
                        "Nats-Msg-Id": str(event.event_id),
                        "content-type": "application/json",
                    },
                )
            )
        results = await asyncio.wait_for(asyncio.gather(*acks, return_exceptions=True), ack_wait)
    except BaseException as exc:
        unacked = [e for e, ack in zip(batch, acks, strict=False) if not ack.done()]
        unacked += batch[len(acks) :]
        for ack in acks:
            ack.cancel()  # nats-py forgets an ack future once it is done
        if unacked and not isinstance(exc, asyncio.CancelledError):
            log.warning(
                "publish failed: %r", exc, extra={**_fields(unacked[0]), "unacked": len(unacked)}
            )
        raise
    duplicates = 0
    for event, result in zip(batch, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("broker refused an event: %r", result, extra=_fields(event))
            raise result
        duplicates += bool(result.duplicate)
    return duplicates


def _fields(event: StoredEvent) -> dict[str, object]:
    return {
        "event_id": str(event.event_id),
        "position": event.position,
        "stream_id": str(event.stream_id),
    }
