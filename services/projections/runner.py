"""Catch-up: the event store applied to each projection in commit-safe order, exactly once.

Every batch is applied and the projection's checkpoint advanced in one transaction that first
takes the projection's advisory lock (a rebuild's swap and other worker replicas take it too) and
checks that the checkpoint is still the one the batch was read after. A crash anywhere therefore
leaves the read model equal to a rebuild up to its checkpoint, and duplicates, reordering or
restarts cannot apply anything twice. Broker messages only say "look again".

When a batch fails it is split in halves until the failing event is found, so the events before
it are applied. That event blocks its projection (others go on) and is retried with a growing
delay; after `max_attempts` failed passes it is recorded in read.dead_letters, announced through
`on_dead_letter`, and skipped from then on, by this worker and by every rebuild.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from .bulk import WriteFailed
from .delivery import Backoff
from .projection import Projection
from .store import Checkpoint, StoredEvent, read_committed

log = logging.getLogger(__name__)

LOCK = "select pg_advisory_xact_lock(hashtextextended('wispgate.projection.' || $1, 0))"
ENSURE_CHECKPOINT = "insert into read.checkpoints (projection) values ($1) on conflict do nothing"
CHECKPOINT = """
select txid::text::bigint, position from read.checkpoints where projection = $1
"""
ADVANCE = """
update read.checkpoints set txid = $2::text::xid8, position = $3, updated_at = now()
where projection = $1
"""
DEAD_LETTERED = "select event_id from read.dead_letters where projection = $1"
IS_DEAD_LETTERED = "select 1 from read.dead_letters where projection = $1 and event_id = $2"
RECORD_DEAD_LETTER = """
insert into read.dead_letters (projection, event_id, position, error, attempts)
values ($1, $2, $3, $4, $5)
on conflict do nothing
returning 1
"""

# Failures of the database or the connection, not of the event: retried, never counted.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TransactionRollbackError,
    asyncpg.InvalidCachedStatementError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.ObjectNotInPrerequisiteStateError,
    asyncpg.IdleInTransactionSessionTimeoutError,
    asyncpg.UndefinedTableError,
)

DEFAULT_BACKOFF = Backoff()

DeadLetterHook = Callable[[str, StoredEvent, str, int], Awaitable[None]]
"""(projection, event, error, attempts): announce an event given up on, before it is recorded."""


@dataclass
class Failure:
    """The event a projection is stuck on, how often it failed, and when to try again."""

    event: StoredEvent
    error: str
    attempts: int
    retry_at: float


@dataclass
class Track:
    """One projection's place in the event store."""

    projection: Projection
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    skipped: set[UUID] = field(default_factory=set)
    failure: Failure | None = None


class EventFailed(Exception):
    """A projection cannot apply an event (raised by rebuilds, which do not skip)."""


class Catchup:
    """Brings projections up to the event store's horizon.

    Live (`shadow=False`): checkpoints live in read.checkpoints and move in the batch's
    transaction. Shadow (rebuilds): checkpoints start at 0 and stay in memory, and a failing
    event raises `EventFailed` instead of being retried.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        projections: Sequence[Projection],
        *,
        batch_size: int = 5000,
        max_attempts: int = 5,
        backoff: Backoff = DEFAULT_BACKOFF,
        shadow: bool = False,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> None:
        self.pool = pool
        self.tracks = [Track(p) for p in projections]
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.shadow = shadow
        self.on_dead_letter = on_dead_letter
        self.applied = 0  # events read and applied (or passed over), for metrics
        self._started = False
        self._lock = asyncio.Lock()
        self._passes = 0

    async def catch_up(self) -> None:
        """Run a pass that starts after this call; callers arriving together share one pass."""
        ticket = self._passes
        async with self._lock:
            if self._passes > ticket:
                return  # a pass that began after our request has just finished
            self._passes += 1
            await self.run_pass()

    async def run_pass(
        self, conn: asyncpg.Connection | None = None, tracks: Sequence[Track] | None = None
    ) -> None:
        """Apply batches until every projection is at the horizon, blocked or failing.

        Projections at the same checkpoint share one read of the event store and apply it
        concurrently, each on its own connection, while the next batch is read: one's database
        work overlaps another's folding. With `conn`, everything happens in turn on that
        connection (inside the caller's transaction, if any).
        """
        await self._start(conn)
        now = time.monotonic()
        chosen = self.tracks if tracks is None else tracks
        active = [t for t in chosen if t.failure is None or t.failure.retry_at <= now]
        ahead: dict[Checkpoint, asyncio.Task[list[StoredEvent]]] = {}
        try:
            while active:
                groups: dict[Checkpoint, list[Track]] = {}
                for track in active:
                    groups.setdefault(track.checkpoint, []).append(track)
                active = []
                for checkpoint, members in groups.items():
                    read = ahead.pop(checkpoint, None)
                    events = await read if read else await self._read(conn, checkpoint)
                    if not events:
                        continue
                    if conn is None and len(events) == self.batch_size:
                        following = events[-1].checkpoint
                        ahead[following] = asyncio.create_task(self._read(None, following))
                    if conn is None:
                        moved = await asyncio.gather(*(self._apply(t, events) for t in members))
                    else:
                        moved = [await self._apply(t, events, conn) for t in members]
                    active += [t for t, ok in zip(members, moved, strict=True) if ok]
        finally:
            for read in ahead.values():
                read.cancel()

    async def _read(
        self, conn: asyncpg.Connection | None, checkpoint: Checkpoint
    ) -> list[StoredEvent]:
        return await read_committed(conn or self.pool, checkpoint, self.batch_size)

    def blocking(self, event_id: UUID) -> list[Track]:
        """Projections currently stuck on this event."""
        return [t for t in self.tracks if t.failure and t.failure.event.event_id == event_id]

    async def give_up(self, event_id: UUID, error: str, attempts: int) -> None:
        """Skip an event from now on in every projection stuck on it, recording why."""
        async with self._lock:  # not while a pass may be retrying it
            for track in self.blocking(event_id):
                assert track.failure is not None
                await self._record(track, track.failure.event, error, attempts)

    async def _start(self, conn: asyncpg.Connection | None) -> None:
        if self._started:
            return
        async with _use(self.pool, conn) as c:
            for track in self.tracks:
                name = track.projection.name
                track.skipped = {r["event_id"] for r in await c.fetch(DEAD_LETTERED, name)}
                if not self.shadow:
                    await c.execute(ENSURE_CHECKPOINT, name)
                    track.checkpoint = Checkpoint(*await c.fetchrow(CHECKPOINT, name))
        self._started = True

    async def _apply(
        self, track: Track, events: Sequence[StoredEvent], conn: asyncpg.Connection | None = None
    ) -> bool:
        """Apply events after the track's checkpoint; False when the track is stuck."""
        try:
            await self._commit(track, events, conn)
        except TRANSIENT as exc:
            if self.shadow:
                raise  # a rebuild has no later pass: it stops rather than swap in a gap
            log.warning(
                "projection paused by a database error",
                extra={"projection": track.projection.name, "error": repr(exc)},
            )
            return False
        except WriteFailed:
            raise  # an earlier batch's write: splitting this one would blame an innocent event
        except Exception as exc:
            if len(events) > 1:
                half = len(events) // 2
                return await self._apply(track, events[:half], conn) and await self._apply(
                    track, events[half:], conn
                )
            return await self._failed(track, events[0], exc)
        if track.failure and track.failure.event.event_id in {e.event_id for e in events}:
            track.failure = None
        return True

    async def _commit(
        self, track: Track, events: Sequence[StoredEvent], conn: asyncpg.Connection | None
    ) -> None:
        projection = track.projection
        handled = [
            e for e in events if e.type in projection.handles and e.event_id not in track.skipped
        ]
        last = events[-1].checkpoint
        try:
            async with _use(self.pool, conn) as c, c.transaction():
                if not self.shadow:
                    await c.execute(LOCK, projection.name)
                    current = Checkpoint(*await c.fetchrow(CHECKPOINT, projection.name))
                    if current != track.checkpoint:
                        # Another worker or a rebuild moved it: read again from there.
                        track.checkpoint = current
                        return
                if handled:
                    await projection.apply(c, handled)
                if not self.shadow:
                    await c.execute(ADVANCE, projection.name, str(last.txid), last.position)
        except BaseException:
            projection.forget()  # what it remembered of the batch was rolled back
            raise
        track.checkpoint = last
        self.applied += len(events)

    async def _failed(self, track: Track, event: StoredEvent, exc: Exception) -> bool:
        name = track.projection.name
        error = f"{type(exc).__name__}: {exc}"
        if self.shadow:
            # A rebuild skips what was dead-lettered before it began and stops at anything else.
            raise EventFailed(f"{name} cannot apply event {event.event_id}: {error}") from exc
        if await self.pool.fetchval(IS_DEAD_LETTERED, name, event.event_id):
            track.skipped.add(event.event_id)  # given up on meanwhile by another worker
            return True
        previous = track.failure
        same = previous is not None and previous.event.event_id == event.event_id
        attempts = (previous.attempts if same and previous else 0) + 1
        retry_at = time.monotonic() + self.backoff.delay(attempts)
        track.failure = Failure(event, error, attempts, retry_at)
        log.error(
            "projection failed on an event",
            extra=_fields(name, event) | {"attempts": attempts, "error": error},
            exc_info=exc if attempts == 1 else None,  # the traceback once, not at every retry
        )
        if attempts < self.max_attempts:
            return False
        if self.on_dead_letter is not None:
            await self.on_dead_letter(name, event, error, attempts)
        await self._record(track, event, error, attempts)
        return True

    async def _record(self, track: Track, event: StoredEvent, error: str, attempts: int) -> None:
        name = track.projection.name
        await self.pool.fetchval(
            RECORD_DEAD_LETTER, name, event.event_id, event.position, error, attempts
        )
        track.skipped.add(event.event_id)
        track.failure = None
        log.error("event dead-lettered", extra=_fields(name, event) | {"attempts": attempts})


def _fields(projection: str, event: StoredEvent) -> dict[str, Any]:
    return {
        "projection": projection,
        "event_id": str(event.event_id),
        "stream_id": str(event.stream_id),
        "position": event.position,
        "type": event.type,
    }


def _use(
    pool: asyncpg.Pool, conn: asyncpg.Connection | None
) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """The given connection, or one from the pool for the duration of the block."""
    return nullcontext(conn) if conn is not None else pool.acquire()
