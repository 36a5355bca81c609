"""Rebuild: fill shadow copies of a projection's tables from position 0, then swap them in.

Readers never see a half-built model: while the shadow tables fill, the live ones keep being
updated by the worker and answering queries. The swap is one short transaction that takes the
projection's advisory lock (so the worker pauses between two batches), applies the last events
to the shadow up to the current horizon, renames live -> old and shadow -> live, drops the old
tables, gives the new indexes the live names and moves the checkpoint to the shadow's.

The shadows themselves are made and indexed by `shadows`.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import time
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from uuid import UUID

import asyncpg
import uvloop

from plumbing.eventlog import head, wait_until_readable
from plumbing.postgres import create_pool

from . import checkpoints, deadletters
from .bulk import Writer
from .catalog import chosen
from .projection import SHADOW, Projection
from .retries import Track
from .runner import Catchup
from .shadows import INDEXES, create_shadow, index_shadows

log = logging.getLogger(__name__)

SWAP_ATTEMPTS = 5
# A swap waits at most this long for readers' locks, then gives way and tries again.
SWAP_LOCK_TIMEOUT = "3s"


async def rebuild(
    pool: asyncpg.Pool, names: Sequence[str] | None = None, batch_size: int = 5000
) -> dict[str, int]:
    """Rebuild the named projections (all when none is); returns the position each reached."""
    return await swap_in(pool, await build_shadows(pool, names, batch_size))


def rebuild_in_processes(
    dsn: str, names: Sequence[str] | None = None, batch_size: int = 5000, jobs: int = 1
) -> dict[str, int]:
    """Rebuild each projection in a process of its own, `jobs` at a time.

    Folding is CPU work in one Python thread, so projections rebuilt side by side use the other
    cores (each process reads the event store itself: cheap next to folding).
    """
    chosen_names = [cls.name for cls in chosen(names)]
    if jobs <= 1 or len(chosen_names) == 1:
        # uvloop, as the other services: it reads the event store's rows off the socket faster.
        return uvloop.run(_rebuild_with_pool(dsn, chosen_names, batch_size))
    context = multiprocessing.get_context("spawn")  # no event loop or pool inherited by fork
    reached: dict[str, int] = {}
    with ProcessPoolExecutor(min(jobs, len(chosen_names)), mp_context=context) as executor:
        futures = [
            executor.submit(rebuild_in_processes, dsn, [name], batch_size) for name in chosen_names
        ]
        for future in futures:
            reached |= future.result()
    return reached


async def _rebuild_with_pool(dsn: str, names: Sequence[str], batch_size: int) -> dict[str, int]:
    # No statement timeout: indexing or swapping in a large shadow may take minutes.
    pool = await create_pool(dsn, "wispgate-projections-rebuild", 6, statement_timeout=0)
    try:
        return await rebuild(pool, names, batch_size)
    finally:
        await pool.close()


async def build_shadows(
    pool: asyncpg.Pool,
    names: Sequence[str] | None = None,
    batch_size: int = 5000,
    replaying: Collection[UUID] = (),
) -> Catchup:
    """Fill fresh shadow tables from position 0 up to the horizon; nothing is swapped yet.

    Dead letters in `replaying` are applied again where they stand in the order; those failing
    still are skipped, and the swap keeps them. Such a rebuild writes as the worker does (no
    bulk load), so that a failing write is blamed on its event rather than stopping it.
    """
    projections = [cls(SHADOW) for cls in chosen(names)]
    async with pool.acquire() as conn:
        for projection in projections:
            await create_shadow(conn, projection)
    catchup = Catchup(pool, projections, batch_size=batch_size, shadow=True, replaying=replaying)
    names = [p.name for p in projections]
    log.info("rebuild started", extra={"projections": names})
    started = time.monotonic()
    # Every event stored before the rebuild began must be read, even while an older transaction
    # anywhere on the server holds the commit-safe horizon back: a rebuild that found nothing
    # readable yet would swap in empty read models.
    await wait_until_readable(pool, await head(pool))
    if replaying:
        await catchup.run_pass()
    else:
        await _bulk_load(pool, catchup, projections)
    loaded = time.monotonic()
    log.info(
        "rebuild loaded",
        extra={
            "projections": names,
            "events": catchup.applied,
            "seconds": round(loaded - started, 1),
        },
    )
    await index_shadows(pool, projections)
    log.info(
        "rebuild indexed",
        extra={"projections": names, "seconds": round(time.monotonic() - loaded, 1)},
    )
    await catchup.run_pass()  # what arrived meanwhile, written as the worker writes it
    return catchup


async def _bulk_load(
    pool: asyncpg.Pool, catchup: Catchup, projections: Sequence[Projection]
) -> None:
    """The first pass, into empty shadows: writers in the background, no garbage collector."""
    for projection in projections:
        projection.bulk = Writer(pool)
    try:
        with _collector_paused():
            await catchup.run_pass()  # one read of the store feeds every shadow
            for projection in projections:
                assert projection.bulk is not None
                await projection.bulk.wait()  # the last batch is committed too
    finally:
        for projection in projections:
            writer, projection.bulk = projection.bulk, None
            projection.forget()
            if writer is not None:
                await writer.close()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while.

    A bulk load allocates millions of short-lived containers, none in a cycle: the collector
    would keep walking them all the same, a fifth of the load's CPU time. Memory is released by
    reference counting as usual; anything cyclic is collected when the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def swap_in(pool: asyncpg.Pool, catchup: Catchup) -> dict[str, int]:
    """Swap built shadows in, one projection at a time; returns the position each reached."""
    for track in catchup.tracks:
        await _swap(pool, catchup, track)
    return {t.projection.name: t.checkpoint.position for t in catchup.tracks}


async def drop_shadows(pool: asyncpg.Pool, names: Sequence[str] | None = None) -> None:
    """Remove the shadow tables a stopped rebuild left behind."""
    async with pool.acquire() as conn:
        for cls in chosen(names):
            for table in cls.tables:
                await conn.execute(f"drop table if exists {cls.schema}.{table}{SHADOW}")


async def _swap(pool: asyncpg.Pool, catchup: Catchup, track: Track) -> None:
    name = track.projection.name
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        before = track.checkpoint
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(f"set local lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
                await _swap_in(conn, catchup, track)
        except BaseException as exc:
            # What the transaction applied to the shadow was rolled back with it.
            track.checkpoint = before
            if not isinstance(exc, asyncpg.LockNotAvailableError):
                raise
            log.warning(
                "rebuild swap waited too long for locks, trying again",
                extra={"projection": name, "attempt": attempt},
            )
            continue
        log.info(
            "rebuild swapped in", extra={"projection": name, "position": track.checkpoint.position}
        )
        return
    raise RuntimeError(f"could not swap in {name}: readers or the worker kept its tables locked")


async def _swap_in(conn: asyncpg.Connection, catchup: Catchup, track: Track) -> None:
    projection = track.projection
    await checkpoints.lock(conn, projection.name)
    await catchup.run_pass(conn, [track])
    schema = projection.schema
    for table in projection.tables:
        live, old = f"{schema}.{table}", f"{table}_old"
        names = [index["name"] for index in await conn.fetch(INDEXES, live)]
        await conn.execute(f"drop table if exists {schema}.{old}")
        await conn.execute(f"alter table {live} rename to {old}")
        await conn.execute(f"alter table {projection.table(table)} rename to {table}")
        await conn.execute(f"drop table {schema}.{old}")
        for name in names:
            # Renaming a constraint's index renames the constraint too.
            await conn.execute(
                f'alter index if exists {schema}."{name}{SHADOW}" rename to "{name}"'
            )
    await checkpoints.replace(conn, projection.name, track.checkpoint)
    # With the tables that now include them: a rebuild never skips an applied event.
    await deadletters.settle(conn, projection.name, catchup.replaying, catchup.still_failing)
