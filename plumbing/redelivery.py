"""Settling JetStream messages: ack, retry later, or move them to the dead-letter subject.

FastStream drops a message whose handler raised unless told otherwise; here every outcome is
chosen explicitly, for each message: success (ack), a failure before the last allowed delivery
(negative ack with a delay that doubles with each delivery, so the broker redelivers it later and
the messages behind it proceed), or a failure on its last allowed delivery: the message is then
published to the dead-letter subject with headers naming the error and the consumer, and acked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from contracts.deadletters import (
    CONSUMER_HEADER,
    DELIVERIES_HEADER,
    ERROR_HEADER,
    MAX_HEADER_LENGTH,
    SUBJECT_HEADER,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1: `base` doubled per attempt already made, at most `cap`."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed attempts (1 or more)."""
        return float(min(self.cap, self.base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Redelivery:
    """How one consumer retries and where its undeliverable messages go."""

    consumer: str
    dead_letter_subject: str
    max_deliveries: int = 5
    backoff: Backoff = Backoff()


class Outcome(Enum):
    ACKED = "acked"
    RETRYING = "retrying"
    DEAD_LETTERED = "dead_lettered"


def deliveries(msg: Msg) -> int:
    """How many times the broker has delivered this message, this time included."""
    return int(msg.metadata.num_delivered)


async def settle(msg: Msg, error: Exception | None, policy: Redelivery, nc: NATS) -> Outcome:
    """Ack a message that was handled; retry one that failed, or dead-letter it on its last try."""
    if error is None:
        await msg.ack()
        return Outcome.ACKED
    delivered = deliveries(msg)
    fields = {"consumer": policy.consumer, "deliveries": delivered, "subject": msg.subject,
              "error": repr(error)}  # fmt: skip
    if delivered < policy.max_deliveries:
        delay = policy.backoff.delay(delivered)
        log.warning("message failed, retrying later", extra=fields | {"delay": delay})
        await msg.nak(delay=delay)
        return Outcome.RETRYING
    # Published before the ack: a crash in between delivers it again rather than losing it.
    await nc.publish(
        policy.dead_letter_subject,
        msg.data,
        headers=dead_letter_headers(msg, policy.consumer, error, delivered),
    )
    await nc.flush()
    await msg.ack()
    log.error("message dead-lettered", extra=fields)
    return Outcome.DEAD_LETTERED


def dead_letter_headers(
    msg: Msg | None, consumer: str, error: Exception | str, delivered: int
) -> dict[str, str]:
    """Headers of a dead letter: the error, the consumer, the attempts and where it came from."""
    headers = {
        ERROR_HEADER: (error if isinstance(error, str) else repr(error))[:MAX_HEADER_LENGTH],
        CONSUMER_HEADER: consumer,
        DELIVERIES_HEADER: str(delivered),
    }
    if msg is not None:
        headers[SUBJECT_HEADER] = msg.subject
        if msg_id := (msg.headers or {}).get("Nats-Msg-Id"):
            headers["Nats-Msg-Id"] = msg_id
    # Header values are one line each on the wire.
    return {k: " ".join(v.split()) for k, v in headers.items()}


async def with_heartbeat(
    messages: list[Msg], work: Callable[[], Awaitable[None]], every: float
) -> None:
    """Await `work`; only when it takes long, report the messages in progress every `every` s.

    A timer rather than a task per call: most work ends long before the first report is due.
    """
    loop = asyncio.get_running_loop()
    reports: set[asyncio.Task[None]] = set()
    timer: asyncio.TimerHandle

    def report() -> None:
        nonlocal timer
        task = loop.create_task(_in_progress(messages))
        reports.add(task)
        task.add_done_callback(reports.discard)
        timer = loop.call_later(every, report)

    timer = loop.call_later(every, report)
    try:
        await work()
    finally:
        timer.cancel()


async def _in_progress(messages: list[Msg]) -> None:
    for msg in messages:
        with suppress(Exception):  # a report only: a lost one costs at most a redelivery
            await msg.in_progress()
