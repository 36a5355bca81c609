"""Background writes of a rebuild's bulk load: the database stores one batch while the next is
read and folded, so the rebuild uses a core for Python and one for PostgreSQL at the same time.

Only a bulk load may write this way: its shadow tables are fresh and nobody else writes them, a
failure stops the whole rebuild (nothing is swapped in), and no checkpoint depends on when a
batch's rows are committed, only that every batch is, in order, before the indexes are built.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

Write = Callable[[asyncpg.Connection], Awaitable[None]]


class WriteFailed(Exception):
    """A batch written in the background failed: no event of the batch at hand is to blame."""


class Writer:
    """Runs one batch's writes at a time, in order, each in a transaction of its own."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.Connection | None = None
        self._running: asyncio.Task[None] | None = None

    async def submit(self, write: Write) -> None:
        """Start a batch's writes once the previous batch's are done."""
        await self.wait()
        if self._conn is None:
            self._conn = await self._pool.acquire()
        self._running = asyncio.create_task(self._run(self._conn, write))

    async def wait(self) -> None:
        """Return once everything submitted is committed; raise `WriteFailed` if it was not."""
        if self._running is None:
            return
        try:
            await asyncio.shield(self._running)
        except asyncio.CancelledError:
            if not self._running.done():
                raise  # the waiter was cancelled, not the write
            raise WriteFailed("a background write was cancelled") from None
        except Exception as exc:
            raise WriteFailed(f"a background write failed: {exc!r}") from exc

    async def close(self) -> None:
        """Stop a write still running (after a failure elsewhere) and give the connection back."""
        running, self._running = self._running, None
        if running is not None and not running.done():
            running.cancel()
            await asyncio.wait([running])
        if self._conn is not None:
            await self._pool.release(self._conn)
            self._conn = None

    @staticmethod
    async def _run(conn: asyncpg.Connection, write: Write) -> None:
        async with conn.transaction():
            # No disk flush per batch: a crash stops the rebuild anyway, and the swap's own commit
            # flushes the log up to it, every batch written before included.
            await conn.execute("set local synchronous_commit = off")
            await write(conn)
