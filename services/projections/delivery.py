"""Settling one JetStream message: ack, retry later, or move it to the dead-letter subject.

FastStream drops a message whose handler raised unless told otherwise; here every outcome is
chosen explicitly. The work either succeeds (ack), fails before the last allowed delivery
(negative ack with a delay that doubles with each delivery, so the broker redelivers later and
the messages behind it proceed), or fails on its last allowed delivery: then the message is
published to the dead-letter subject with headers naming the error and the consumer, and acked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum

from faststream.nats import NatsBroker
from faststream.nats.message import NatsMessage

log = logging.getLogger(__name__)

ERROR_HEADER = "Wispgate-Error"
CONSUMER_HEADER = "Wispgate-Consumer"
DELIVERIES_HEADER = "Wispgate-Deliveries"
SUBJECT_HEADER = "Wispgate-Subject"
MAX_HEADER_LENGTH = 1000


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1: `base` doubled per attempt already made, at most `cap`."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed attempts (1 or more)."""
        return min(self.cap, self.base * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Redelivery:
    """How one consumer retries and where its undeliverable messages go."""

    consumer: str
    dead_letter_subject: str
    max_deliveries: int = 5
    backoff: Backoff = Backoff()
    heartbeat: float = 10.0  # below the consumer's ack_wait: long work is reported in progress


class Outcome(Enum):
    ACKED = "acked"
    RETRYING = "retrying"
    DEAD_LETTERED = "dead_lettered"


OnDeadLetter = Callable[[Exception], Awaitable[None]]


def deliveries(msg: NatsMessage) -> int:
    """How many times the broker has delivered this message, this time included."""
    return int(msg.raw_message.metadata.num_delivered)


async def settle(
    msg: NatsMessage,
    work: Callable[[], Awaitable[None]],
    policy: Redelivery,
    broker: NatsBroker,
    on_dead_letter: OnDeadLetter | None = None,
) -> Outcome:
    """Run `work` for a message and ack, nack with a delay, or dead-letter it."""
    delivered = deliveries(msg)
    try:
        await _with_heartbeat(msg, work, policy.heartbeat)
    except Exception as exc:
        if delivered < policy.max_deliveries:
            delay = policy.backoff.delay(delivered)
            log.warning(
                "message failed, retrying later",
                extra={"consumer": policy.consumer, "deliveries": delivered, "delay": delay,
                       "subject": msg.raw_message.subject, "error": repr(exc)},
            )  # fmt: skip
            await msg.nack(delay=delay)
            return Outcome.RETRYING
        # Published before the ack: a crash in between delivers it again rather than losing it.
        await broker.publish(
            msg.body,
            policy.dead_letter_subject,
            headers=dead_letter_headers(msg, policy.consumer, exc, delivered),
        )
        if on_dead_letter is not None:
            await on_dead_letter(exc)
        await msg.ack()
        log.error(
            "message dead-lettered",
            extra={"consumer": policy.consumer, "deliveries": delivered,
                   "subject": msg.raw_message.subject, "error": repr(exc)},
        )  # fmt: skip
        return Outcome.DEAD_LETTERED
    await msg.ack()
    return Outcome.ACKED


def dead_letter_headers(
    msg: NatsMessage | None, consumer: str, error: Exception | str, delivered: int
) -> dict[str, str]:
    """Headers of a dead letter: the error, the consumer, the attempts and where it came from."""
    headers = {
        ERROR_HEADER: (error if isinstance(error, str) else repr(error))[:MAX_HEADER_LENGTH],
        CONSUMER_HEADER: consumer,
        DELIVERIES_HEADER: str(delivered),
    }
    if msg is not None:
        headers[SUBJECT_HEADER] = msg.raw_message.subject
        if msg_id := (msg.headers or {}).get("Nats-Msg-Id"):
            headers["Nats-Msg-Id"] = msg_id
    # Header values are one line each on the wire.
    return {k: " ".join(v.split()) for k, v in headers.items()}


async def _with_heartbeat(
    msg: NatsMessage, work: Callable[[], Awaitable[None]], every: float
) -> None:
    """Await `work`, telling the broker the message is in progress while it takes long."""
    task = asyncio.ensure_future(work())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            await msg.in_progress()
    finally:
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
