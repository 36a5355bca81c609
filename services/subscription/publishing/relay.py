"""The relay: the single active publisher of the event store to NATS JetStream.

It reads the store in commit-safe order (see plumbing/eventlog.py), publishes each event's
envelope to its subject with `Nats-Msg-Id` = event_id, and checkpoints only what the broker
acknowledged.
A crash between publishing and checkpointing re-publishes a batch; the stream's duplicate window
drops it (broker.DUPLICATE_WINDOW_SECONDS) and consumers are idempotent anyway.

One relay is active at a time: the one holding a PostgreSQL session advisory lock. Everything the
active relay does in the database (reads, checkpoint writes) goes over the connection that holds
the lock, so a relay whose lock connection died can no longer move the checkpoint, and it stops
publishing as soon as the connection reports its loss.

It wakes on the hints appending processes send over core NATS (hints.py) and polls besides, so a
lost hint costs at most `poll_interval` of delay.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from contextlib import suppress

import asyncpg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from contracts.subjects import appended_hint_subject
from plumbing.broker import connect
from plumbing.eventlog import Checkpoint, StoredEvent, read_committed_or_waiting
from plumbing.postgres import server_settings
from plumbing.process import stop_on_signals
from services.subscription.config import Settings
from services.subscription.publishing.broker import publish_batch, publisher

log = logging.getLogger(__name__)

# Slowest re-read while committed events wait behind an older running transaction (seconds).
HORIZON_POLL = 0.05
# After a pass that published less than SMALL_BATCH events, a hint waits GATHER seconds before the
# next read: a steady trickle of appends is then published a few per pass rather than one pass
# (a read, a publish, an ack, a checkpoint write) each. Consumers see events that much later;
# the read models follow the store, not the broker, and are not held back.
GATHER = 0.005
SMALL_BATCH = 16

TRY_LOCK = "select pg_try_advisory_lock($1)"

ENSURE_CHECKPOINT = """
insert into events.relay_checkpoints (namespace) values ($1) on conflict do nothing
"""

LOAD_CHECKPOINT = """
select txid::text::bigint as txid, position from events.relay_checkpoints where namespace = $1
"""

# Never moves backwards, should a relay that lost its lock still finish a write.
SAVE_CHECKPOINT = """
update events.relay_checkpoints set txid = $2::text::xid8, position = $3, updated_at = now()
where namespace = $1 and (txid, position) < ($2::text::xid8, $3::bigint)
"""

LAG = """
select count(*) as backlog,
       coalesce(greatest(extract(epoch from now() - min(occurred_at)), 0), 0)::float8 as age
from events.events where (txid, position) > ($1::text::xid8, $2::bigint)
"""


def lock_key(namespace: str) -> int:
    """The advisory lock key of a namespace's relay (stable across processes and versions)."""
    digest = hashlib.blake2b(f"wispgate.relay.{namespace}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def relay_lag(conn: asyncpg.Connection | asyncpg.Pool, namespace: str) -> tuple[int, float]:
    """(events not yet published, age in seconds of the oldest of them; 0 when none)."""
    row = await conn.fetchrow(LOAD_CHECKPOINT, namespace)
    checkpoint = Checkpoint(row["txid"], row["position"]) if row else Checkpoint()
    lag = await conn.fetchrow(LAG, str(checkpoint.txid), checkpoint.position)
    return lag["backlog"], lag["age"]


class LockLost(Exception):
    """The connection holding the relay's advisory lock closed."""


class Backoff:
    """Bounded exponential delays: 0.1 s, 0.2 s, ... up to 1 s.

    Short, so that publishing resumes within a second of PostgreSQL or a NATS stream leader
    coming back (a 5 s cap kept events off the broker up to 5 s after a 10 s outage); one
    attempt a second while a server is away costs nothing.
    """

    def __init__(self, first: float = 0.1, most: float = 1.0) -> None:
        self.first, self.most, self.delay = first, most, 0.0

    def next(self) -> float:
        self.delay = min(self.most, self.delay * 2 if self.delay else self.first)
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    name: str = "wispgate-relay",
    poll_interval: float = 0.25,
    standby_interval: float = 1.0,
    ack_wait: float = 5.0,
) -> None:
    """Publish the event store until `stop` is set (SIGTERM or SIGINT when none is given).

    `name` is the application_name of the lock connection, to see in pg_stat_activity which
    relay is active; the other keywords are seconds.
    """
    relay = _Relay(settings, name, poll_interval, standby_interval, ack_wait)
    await relay.run(stop or stop_on_signals())


class _Relay:
    def __init__(
        self,
        settings: Settings,
        name: str,
        poll_interval: float,
        standby_interval: float,
        ack_wait: float,
    ) -> None:
        self.dsn, self.nats_url = settings.dsn, settings.nats_url
        self.statement_timeout = settings.statement_timeout
        self.ns, self.batch_size = settings.namespace, settings.relay_batch_size
        self.name, self.poll_interval = name, poll_interval
        self.standby_interval, self.ack_wait = standby_interval, ack_wait
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff()
        try:
            while not stop.is_set():
                conn = await self._acquire(stop, backoff)
                if conn is None:
                    return
                try:
                    await self._lead(conn, stop, backoff)
                except Exception as exc:
                    log.warning(
                        "relay stepped down: %s", exc, exc_info=not isinstance(exc, LockLost)
                    )
                    await _sleep(stop, backoff.next())
                finally:
                    await _close(conn)
        finally:
            if self.nc is not None:
                await self.nc.close()

    async def _acquire(self, stop: asyncio.Event, backoff: Backoff) -> asyncpg.Connection | None:
        """A connection holding the lock, once this relay wins it; None once stopped."""
        key = lock_key(self.ns)
        while not stop.is_set():
            conn = None
            try:
                conn = await asyncpg.connect(
                    self.dsn,
                    command_timeout=30,
                    server_settings=server_settings(self.name, self.statement_timeout),
                )
                while not stop.is_set():
                    if await conn.fetchval(TRY_LOCK, key):
                        log.info("relay active", extra={"relay": self.name, "lock": key})
                        conn, held = None, conn
                        return held
                    await _sleep(stop, self.standby_interval)
            except Exception as exc:
                log.warning("relay cannot reach PostgreSQL: %s", exc, extra={"relay": self.name})
                await _sleep(stop, backoff.next())
            finally:
                if conn is not None:
                    await _close(conn)
        return None

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event, backoff: Backoff) -> None:
        """Publish while the lock connection lives; cut short the moment it dies."""
        lost, wake = asyncio.Event(), asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        work = asyncio.create_task(self._publish_loop(conn, stop, wake, backoff))
        watch = asyncio.create_task(lost.wait())
        try:
            await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not work.done():
                work.cancel()
                await asyncio.wait({work})
        if work.cancelled():
            raise LockLost("the connection holding the relay lock closed; standing by")
        work.result()

    async def _publish_loop(
        self, conn: asyncpg.Connection, stop: asyncio.Event, wake: asyncio.Event, backoff: Backoff
    ) -> None:
        await conn.execute(ENSURE_CHECKPOINT, self.ns)
        row = await conn.fetchrow(LOAD_CHECKPOINT, self.ns)
        checkpoint = Checkpoint(row["txid"], row["position"])
        js = await self._jetstream()
        assert self.nc is not None

        async def on_hint(_msg: Msg) -> None:
            wake.set()

        hints = await self.nc.subscribe(appended_hint_subject(self.ns), cb=on_hint)
        try:
            await self._publish_until_stopped(conn, js, checkpoint, stop, wake, backoff)
        finally:
            with suppress(Exception):
                await hints.unsubscribe()

    async def _publish_until_stopped(
        self,
        conn: asyncpg.Connection,
        js: JetStreamContext,
        checkpoint: Checkpoint,
        stop: asyncio.Event,
        wake: asyncio.Event,
        backoff: Backoff,
    ) -> None:
        behind = 0.0
        while not stop.is_set():
            wake.clear()
            # Over the lock connection only: a relay that lost its lock reads nothing more.
            # `waiting`: committed events past the batch are not readable yet, because an older
            # transaction anywhere on the server runs, and its end sends no hint: look again soon.
            batch, waiting = await read_committed_or_waiting(conn, checkpoint, self.batch_size)
            if batch:
                duplicates = await self._publish(js, batch, stop)
                if duplicates is None:
                    return
                last = batch[-1].checkpoint
                await conn.execute(SAVE_CHECKPOINT, self.ns, str(last.txid), last.position)
                checkpoint = last
                backoff.reset()
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "published batch",
                        extra={
                            "relay": self.name,
                            "count": len(batch),
                            "duplicates": duplicates,
                            "position": last.position,
                        },
                    )
                if len(batch) == self.batch_size:
                    continue
            if waiting:
                behind = min(HORIZON_POLL, behind * 2 if behind else 0.001)
            else:
                behind = 0.0
            await _wait_any(wake, stop, behind or self.poll_interval)
            if wake.is_set() and len(batch) < SMALL_BATCH:
                await _sleep(stop, GATHER)

    async def _publish(
        self, js: JetStreamContext, batch: list[StoredEvent], stop: asyncio.Event
    ) -> int | None:
        """Publish a batch until the broker acknowledged all of it: how many it already had.

        None when stopped before the broker acknowledged the batch.
        """
        backoff = Backoff()
        while True:
            try:
                return await publish_batch(js, self.ns, batch, self.ack_wait)
            except Exception:
                if stop.is_set():
                    return None
                await _sleep(stop, backoff.next())

    async def _jetstream(self) -> JetStreamContext:
        if self.js is None or self.nc is None or self.nc.is_closed:
            self.nc = await connect(self.nats_url, self.name)
            self.js = publisher(self.nc, self.batch_size, self.ack_wait)
        return self.js


async def _wait_any(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    waits = {asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())}
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _close(conn: asyncpg.Connection) -> None:
    with suppress(Exception):
        await asyncio.wait_for(conn.close(), 5)
    if not conn.is_closed():
        conn.terminate()
