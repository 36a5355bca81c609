"""Events a projection cannot apply: given up on at once, or after one retry.

A data error (see `failures`) is given up on at the first attempt; an unexplained one is tried
again once after the backoff's first delay (`max_attempts`: 2 in the worker), so one
tenant's event holds its projection, and every other tenant's rows in it, that long at most.
Given up on means, here and nowhere else: recorded in read.dead_letters, announced once (the
worker publishes it on `{ns}.dlq.projections`), and skipped from then on, by every worker and
every rebuild until it is replayed. Until the record and the announcement both succeed, the
projection stays stuck on the event and tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from plumbing.eventlog import Checkpoint, StoredEvent
from plumbing.redelivery import Backoff

from . import deadletters
from .failures import Kind, classify
from .projection import Projection

log = logging.getLogger(__name__)


@dataclass
class Failure:
    """The event a projection is stuck on, how often it failed, and when to try again."""

    event: StoredEvent
    error: str
    attempts: int
    retry_at: float


@dataclass
class Track:
    """One projection's place in the event store, and the event holding it back, if any."""

    projection: Projection
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    skipped: set[UUID] = field(default_factory=set)
    failure: Failure | None = None

    def due(self, now: float) -> bool:
        """Whether a pass may go on with this projection (no retry is waited for)."""
        return self.failure is None or self.failure.retry_at <= now

    def applied(self, events: Sequence[StoredEvent]) -> None:
        """Forget the failure of an event that has now been applied."""
        if self.failure and self.failure.event.event_id in {e.event_id for e in events}:
            self.failure = None


class Retries:
    """Counts the failed attempts at an event, and gives it up by the kind of failure."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        max_attempts: int,
        backoff: Backoff,
        announce: deadletters.Announce | None,
    ) -> None:
        self.pool = pool
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.announce = announce

    async def failed(self, track: Track, event: StoredEvent, error: str, exc: Exception) -> bool:
        """Note a failed attempt; True once the projection skips the event for good."""
        name = track.projection.name
        if await deadletters.is_recorded(self.pool, name, event.event_id):
            track.skipped.add(event.event_id)  # given up on meanwhile by another worker
            return True
        previous = track.failure
        same = previous is not None and previous.event.event_id == event.event_id
        attempts = (previous.attempts if same and previous else 0) + 1
        retry_at = time.monotonic() + self.backoff.delay(attempts)
        track.failure = Failure(event, error, attempts, retry_at)
        kind = classify(exc)
        log.error(
            "projection failed on an event",
            extra=fields(name, event) | {"attempts": attempts, "error": error, "kind": kind.value},
            exc_info=exc if attempts == 1 else None,  # the traceback once, not at every retry
        )
        limit = 1 if kind is Kind.DATA else self.max_attempts
        return attempts >= limit and await self._give_up(track, event, error, attempts)

    async def _give_up(self, track: Track, event: StoredEvent, error: str, attempts: int) -> bool:
        name = track.projection.name
        try:
            await deadletters.record(self.pool, name, event, error, attempts, self.announce)
        except Exception as exc:
            # Still stuck on it: the next attempt, after the backoff, gives up again.
            log.warning(
                "cannot dead-letter the event yet", extra=fields(name, event) | {"error": repr(exc)}
            )
            return False
        track.skipped.add(event.event_id)
        track.failure = None
        log.error("event dead-lettered", extra=fields(name, event) | {"attempts": attempts})
        return True


def fields(projection: str, event: StoredEvent) -> dict[str, Any]:
    """Log fields naming an event and the projection it failed in."""
    return {
        "projection": projection,
        "event_id": str(event.event_id),
        "stream_id": str(event.stream_id),
        "position": event.position,
        "type": event.type,
    }
