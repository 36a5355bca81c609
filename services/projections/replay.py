"""Replaying dead letters once their cause is fixed: a rebuild of each projection concerned.

Applying a dead letter on top of today's tables would be quicker, but a projection's fold is not
order-insensitive: a subscription's status changed at position 10 and again at 20 ends in the
second status, whereas applying the first one last would leave it in the first, and a later
rebuild (which no longer skips the event) would disagree with the live tables. So the projection
is rebuilt from position 0 with its dead letters applied where they stand; the swap deletes the
ones applied now, and those failing still keep their rows with the new error, in the same
transaction. A replay therefore costs a rebuild of the projection, without the bulk load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from . import deadletters
from .rebuild import build_shadows, swap_in

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replayed:
    """A dead letter replayed: applied (`error` None), or still failing and why."""

    projection: str
    event_id: UUID
    error: str | None


async def replay(
    pool: asyncpg.Pool,
    projection: str | None = None,
    event_id: UUID | None = None,
    batch_size: int = 5000,
) -> list[Replayed]:
    """Replay the dead letters (of one projection or event, if named), projection by projection."""
    chosen: dict[str, set[UUID]] = {}
    for letter in await deadletters.listing(pool, projection, event_id):
        chosen.setdefault(letter.projection, set()).add(letter.event_id)
    outcome: list[Replayed] = []
    for name, events in sorted(chosen.items()):
        catchup = await build_shadows(pool, [name], batch_size, replaying=events)
        await swap_in(pool, catchup)
        for event in sorted(events):
            error = catchup.still_failing.get((name, event))
            outcome.append(Replayed(name, event, error))
            log.info(
                "dead letter replayed" if error is None else "dead letter still failing",
                extra={"projection": name, "event_id": str(event), "error": error},
            )
    return outcome
