"""JetStream for the relay: the events stream's setup, a readiness probe, publishing a batch.

The stream belongs to the project's setup: subscribers bind to it without redeclaring it.

This module uses nats-py's JetStream client rather than FastStream's NatsBroker (which wraps it).
NatsBroker.publish(stream=...) does return the PubAck and pass headers, but it awaits each
message's ack as a request of its own; published concurrently, the wire order of a batch would
depend on task scheduling through FastStream's middleware chain. `JetStreamContext.publish_async`
writes messages in call order and hands back ack futures, so a batch goes out in commit order and
its acks are awaited together.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.manager import JetStreamManager

from contracts.subjects import check_namespace, event_subject, events_stream, events_wildcard
from services.subscription.eventstore import StoredEvent

log = logging.getLogger(__name__)

# The broker drops a message whose Nats-Msg-Id it saw within this window. The relay re-publishes
# an unacknowledged batch after at most a few seconds of backoff (5 s cap, see relay.py), and a
# relay taking over after a crash re-publishes the batch the dead one had not checkpointed; ten
# minutes covers both with a wide margin, so consumers normally never see a relay's duplicate.
# A relay down for longer than this re-publishes at most one batch the broker then keeps:
# consumers are idempotent, so that costs work, not correctness.
DUPLICATE_WINDOW_SECONDS = 600.0

# "stream name already in use with a different configuration"
_STREAM_NAME_IN_USE = 10058


def stream_config(namespace: str, max_age_days: float = 7.0) -> StreamConfig:
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
    )


async def ensure_stream(nats_url: str, namespace: str, max_age_days: float = 7.0) -> None:
    """Create the events stream, or bring an existing one to these settings; idempotent."""
    wanted, name = stream_config(namespace, max_age_days), events_stream(namespace)
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        jsm = nc.jsm()
        try:
            current = (await jsm.stream_info(name)).config
        except NotFoundError:
            try:
                # Several processes may race here: the server accepts an identical config twice.
                await jsm.add_stream(wanted)
                log.info("created stream", extra={"stream": wanted.name})
                return
            except BadRequestError as exc:
                if exc.err_code != _STREAM_NAME_IN_USE:
                    raise
                current = (await jsm.stream_info(name)).config
        await _update_if_changed(jsm, current, wanted)
    finally:
        await nc.close()


async def _update_if_changed(
    jsm: JetStreamManager, current: StreamConfig, wanted: StreamConfig
) -> None:
    if current.storage != wanted.storage:
        raise RuntimeError(
            f"stream {wanted.name} uses {current.storage} storage, not {wanted.storage}:"
            " JetStream cannot change it in place; move the stream by hand"
        )
    changed = {
        field: getattr(wanted, field)
        for field in ("subjects", "max_age", "duplicate_window", "retention", "discard")
        if getattr(current, field) != getattr(wanted, field)
    }
    if not changed:
        return
    # Keep every other setting an operator may have tuned (replicas, limits, placement).
    await jsm.update_stream(dataclasses.replace(current, **changed))
    log.info("updated stream", extra={"stream": wanted.name, "fields": sorted(changed)})


async def nats_ready(nats_url: str, namespace: str, wait_seconds: float = 1.0) -> bool:
    """Whether NATS answers and the events stream exists, within a second; never raises."""
    try:
        async with asyncio.timeout(wait_seconds):
            nc = await nats.connect(
                nats_url,
                connect_timeout=wait_seconds,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                error_cb=_quiet,
            )
            try:
                return await stream_ready(nc, namespace, wait_seconds)
            finally:
                await nc.close()
    except Exception:
        return False


async def stream_ready(nc: NATS, namespace: str, wait_seconds: float = 1.0) -> bool:
    """Whether the events stream exists, over a connection the caller already holds."""
    try:
        await nc.jetstream(timeout=wait_seconds).stream_info(events_stream(namespace))
    except Exception:
        return False
    return True


async def _quiet(exc: Exception) -> None:
    # A failed probe answers False; nats-py would otherwise log a traceback per attempt.
    pass


async def connect(nats_url: str, name: str, wait_seconds: float = 10.0) -> NATS:
    """A connection that reconnects forever once made; the first attempt is bounded."""
    nc = NATS()

    async def disconnected() -> None:
        if not nc.is_closed:  # our own close() reports a disconnection too
            log.warning("NATS disconnected, reconnecting", extra={"client": name})

    async def error(exc: Exception) -> None:
        log.warning("NATS error: %r", exc, extra={"client": name})

    try:
        # Bounded so that a caller retrying with backoff can honour a stop while NATS is away.
        async with asyncio.timeout(wait_seconds):
            await nc.connect(
                nats_url,
                name=name,
                connect_timeout=2,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                error_cb=error,
                disconnected_cb=disconnected,
            )
    except BaseException:
        await nc.close()
        raise
    return nc


async def publish_batch(
    js: JetStreamContext, namespace: str, batch: Sequence[StoredEvent], ack_wait: float = 5.0
) -> int:
    """Publish events in order and await every PubAck: how many the broker already had.

    Raises (after logging the first event concerned) when any ack is missing or an error.
    Reuse one `js` per connection: publish_async subscribes its ack inbox once per context.
    """
    acks: list[asyncio.Future[Any]] = []
    try:
        for event in batch:
            acks.append(
                await js.publish_async(
                    event_subject(namespace, event.tenant_id, event.type),
                    event.envelope().model_dump_json().encode(),
                    wait_stall=ack_wait,
                    stream=events_stream(namespace),
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
