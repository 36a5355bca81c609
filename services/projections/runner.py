"""Catch-up: the event store applied to each projection in commit-safe order, exactly once.

Every batch is applied and the projection's checkpoint advanced in one transaction that first
takes the projection's advisory lock (a rebuild's swap and other worker replicas take it too) and
checks that the checkpoint is still the one the batch was read after. A crash anywhere therefore
leaves the read model equal to a rebuild up to its checkpoint, and duplicates, reordering or
restarts cannot apply anything twice. Broker messages only say "look again".

When a batch fails it is split in halves until the failing event is found, so the events before
it are applied; `retries` then decides by the kind of failure (see `failures`): a data error is
dead-lettered at once and the events after it are applied in the same pass, an unexplained one
is retried once; a transient one pauses the projection until a later pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from uuid import UUID

import asyncpg

from plumbing.eventlog import Checkpoint, StoredEvent, read_committed
from plumbing.redelivery import Backoff

from . import checkpoints, deadletters
from .bulk import WriteFailed
from .failures import UNEXPLAINED_ATTEMPTS, Kind, classify
from .projection import Projection
from .retries import Retries, Track

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = Backoff()
# Batches up to this many events are applied to every projection in one transaction.
TOGETHER = 500


class EventFailed(Exception):
    """A projection cannot apply an event (raised by rebuilds, which do not skip)."""


class Catchup:
    """Brings projections up to the event store's horizon.

    Live (`shadow=False`): checkpoints live in read.checkpoints and move in the batch's
    transaction. Shadow (rebuilds): checkpoints start at 0 and stay in memory, and a failing
    event raises `EventFailed` instead of being retried, unless it is a dead letter being
    replayed (`replaying`): that one is skipped again, and why is kept in `still_failing`.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        projections: Sequence[Projection],
        *,
        batch_size: int = 5000,
        max_attempts: int = UNEXPLAINED_ATTEMPTS,
        backoff: Backoff = DEFAULT_BACKOFF,
        shadow: bool = False,
        on_dead_letter: deadletters.Announce | None = None,
        replaying: Collection[UUID] = (),
    ) -> None:
        self.pool = pool
        self.tracks = [Track(p) for p in projections]
        self.batch_size = batch_size
        self.shadow = shadow
        self.retries = Retries(pool, max_attempts, backoff, on_dead_letter)
        self.replaying = frozenset(replaying)
        self.still_failing: dict[tuple[str, UUID], str] = {}  # (projection, event): error
        self.applied = 0  # events read and applied (or passed over), for metrics
        self._started = False
        self._lock = asyncio.Lock()
        self._passes = 0
        self._outcome: Exception | None = None  # what interrupted the last pass
        self._paused: Exception | None = None  # a database error that paused a projection

    async def catch_up(self) -> None:
        """Run a pass that starts after this call; callers arriving together share one pass.

        Raises what interrupted that pass (PostgreSQL away, ...): its events wait for the next.
        """
        ticket = self._passes
        async with self._lock:
            if self._passes == ticket:  # else a pass that began after this call just ended
                self._passes += 1
                self._outcome = None
                try:
                    await self.run_pass()
                except Exception as exc:
                    self._outcome = exc
            outcome = self._outcome
        if outcome is not None:
            raise outcome

    async def run_pass(
        self, conn: asyncpg.Connection | None = None, tracks: Sequence[Track] | None = None
    ) -> None:
        """Apply batches until every projection is at the horizon, blocked or failing.

        Projections at the same checkpoint share one read of the event store. A small batch
        (live, up to `TOGETHER` events: the steady trickle) is applied to all of them in one
        transaction; a larger one concurrently, each on its own connection, while the next
        batch is read: one's database work overlaps another's folding. With `conn`, everything
        happens in turn on that connection (inside the caller's transaction, if any). Raises
        the database error that paused a projection, once the others have gone as far as they
        could.
        """
        self._paused = None
        await self._start(conn)
        now = time.monotonic()
        chosen = self.tracks if tracks is None else tracks
        active = [t for t in chosen if t.due(now)]
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
                    full = len(events) == self.batch_size
                    if conn is None and full:
                        following = events[-1].checkpoint
                        ahead[following] = asyncio.create_task(self._read(None, following))
                    if conn is not None:
                        moved = [await self._apply(t, events, conn) for t in members]
                    elif len(members) > 1 and len(events) <= TOGETHER and not self.shadow:
                        moved = await self._apply_together(members, events)
                    else:
                        moved = await asyncio.gather(*(self._apply(t, events) for t in members))
                    active += [t for t, ok in zip(members, moved, strict=True) if ok]
        finally:
            for read in ahead.values():
                read.cancel()
        if self._paused is not None:
            raise self._paused

    async def _read(
        self, conn: asyncpg.Connection | None, checkpoint: Checkpoint
    ) -> list[StoredEvent]:
        return await read_committed(conn or self.pool, checkpoint, self.batch_size)

    async def _start(self, conn: asyncpg.Connection | None) -> None:
        if self._started:
            return
        async with _use(self.pool, conn) as c:
            for track in self.tracks:
                name = track.projection.name
                track.skipped = await deadletters.skipped(c, name) - self.replaying
                if not self.shadow:
                    track.checkpoint = await checkpoints.current(c, name, ensure=True)
        self._started = True

    async def _apply(
        self, track: Track, events: Sequence[StoredEvent], conn: asyncpg.Connection | None = None
    ) -> bool:
        """Apply events after the track's checkpoint; False when the track is stuck."""
        try:
            await self._commit(track, events, conn)
        except WriteFailed:
            raise  # an earlier batch's write: splitting this one would blame an innocent event
        except Exception as exc:
            if classify(exc) is Kind.TRANSIENT:
                if self.shadow:
                    raise  # a rebuild has no later pass: it stops rather than swap in a gap
                log.warning(
                    "projection paused by a database error",
                    extra={"projection": track.projection.name, "error": repr(exc)},
                )
                self._paused = exc
                return False
            if len(events) > 1:
                half = len(events) // 2
                return await self._apply(track, events[:half], conn) and await self._apply(
                    track, events[half:], conn
                )
            return await self._failed(track, events[0], exc)
        track.applied(events)
        return True

    async def _commit(
        self, track: Track, events: Sequence[StoredEvent], conn: asyncpg.Connection | None
    ) -> None:
        projection = track.projection
        handled = _handled(track, events)
        last = events[-1].checkpoint
        try:
            async with _use(self.pool, conn) as c, c.transaction():
                if not self.shadow:
                    await checkpoints.lock(c, projection.name)
                    current = await checkpoints.current(c, projection.name)
                    if current != track.checkpoint:
                        # Another worker or a rebuild moved it: read again from there.
                        track.checkpoint = current
                        return
                if handled:
                    await projection.apply(c, handled)
                if not self.shadow:
                    await checkpoints.advance(c, projection.name, last)
        except BaseException:
            projection.forget()  # what it remembered of the batch was rolled back
            raise
        track.checkpoint = last
        self.applied += len(events)

    async def _apply_together(
        self, tracks: Sequence[Track], events: Sequence[StoredEvent]
    ) -> list[bool]:
        """`_apply` for several tracks in one transaction; should anything fail, each track is
        applied on its own, where a failure is found and handled."""
        try:
            await self._commit_together(tracks, events)
        except Exception:
            return list(await asyncio.gather(*(self._apply(t, events) for t in tracks)))
        for track in tracks:
            track.applied(events)
        return [True] * len(tracks)

    async def _commit_together(
        self, tracks: Sequence[Track], events: Sequence[StoredEvent]
    ) -> None:
        """`_commit` of several tracks, with their locks, checkpoint checks and moves each
        taken in one statement."""
        names = [t.projection.name for t in tracks]
        last = events[-1].checkpoint
        applying: list[Track] = []
        try:
            async with self.pool.acquire() as c, c.transaction():
                await checkpoints.lock_many(c, names)
                current = await checkpoints.current_many(c, names)
                for track in tracks:
                    if current[track.projection.name] != track.checkpoint:
                        track.checkpoint = current[track.projection.name]  # see `_commit`
                    else:
                        applying.append(track)
                for track in applying:
                    if handled := _handled(track, events):
                        await track.projection.apply(c, handled)
                if applying:
                    await checkpoints.advance_many(c, [t.projection.name for t in applying], last)
        except BaseException:
            for track in tracks:
                track.projection.forget()
            raise
        for track in applying:
            track.checkpoint = last
            self.applied += len(events)

    async def _failed(self, track: Track, event: StoredEvent, exc: Exception) -> bool:
        """Note an event that failed; True once the projection has given up on it."""
        error = f"{type(exc).__name__}: {exc}"
        if self.shadow:
            # A rebuild skips what was dead-lettered before it began and stops at anything else.
            name = track.projection.name
            if event.event_id in self.replaying:
                self.still_failing[name, event.event_id] = error
                track.skipped.add(event.event_id)
                return True
            raise EventFailed(f"{name} cannot apply event {event.event_id}: {error}") from exc
        return await self.retries.failed(track, event, error, exc)


def _use(
    pool: asyncpg.Pool, conn: asyncpg.Connection | None
) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """The given connection, or one from the pool for the duration of the block."""
    return nullcontext(conn) if conn is not None else pool.acquire()


def _handled(track: Track, events: Sequence[StoredEvent]) -> list[StoredEvent]:
    """The events of a batch the track's projection applies (not passed over, not skipped)."""
    handles, streams, skipped = track.projection.handles, track.projection.streams, track.skipped
    return [
        e
        for e in events
        if (e.type in handles or e.stream_type in streams) and e.event_id not in skipped
    ]
