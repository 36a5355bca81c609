"""Read-your-writes: wait until a read model has applied every event up to a position.

A query given `min_position` first waits here. The projection worker sends a hint over core NATS
(`{ns}.hints.projected`) after every pass that moved a read model on; each hint wakes every
waiter to look once (`plumbing.eventlog.reached`). Hints may be lost, so a waiter also looks on
its own every FALLBACK_SECONDS. A position the event store has never handed out is refused at
once: waiting for it could only end in the bound.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import asyncpg
import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from contracts.subjects import projected_hint_subject
from plumbing.broker import HEARTBEAT, servers
from plumbing.eventlog import head, reached

log = logging.getLogger(__name__)

FALLBACK_SECONDS = 0.2
RECONNECT_SECONDS = 2.0


class NotYetVisible(Exception):
    """The read model has not reached the asked position within the wait bound."""


class NotIssued(ValueError):
    """The asked position lies beyond every position the event store has handed out."""


class Freshness:
    """Waits for read models, woken by the projection worker's hints."""

    def __init__(self, pool: asyncpg.Pool, wait_seconds: float) -> None:
        self.pool = pool
        self.wait_seconds = wait_seconds
        self._moved = asyncio.Event()
        self._nc: NATS | None = None
        self._listening: asyncio.Task[None] | None = None

    async def listen(self, nats_url: str, namespace: str) -> None:
        """Begin listening for hints in the background; waits look on their own until then."""
        self._listening = asyncio.create_task(self._subscribe(nats_url, namespace))

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with suppress(asyncio.CancelledError):
                await self._listening
        if self._nc is not None and not self._nc.is_closed:
            with suppress(Exception):
                await self._nc.close()

    async def wait(self, projection: str, position: int | None) -> None:
        """Return once `projection` has applied every event up to `position`.

        NotIssued when the store never handed the position out; NotYetVisible past the bound.
        """
        if not position:
            return
        deadline = asyncio.get_running_loop().time() + self.wait_seconds
        first = True
        while True:
            moved = self._moved  # taken before looking: a hint after the look wakes this wait
            if await reached(self.pool, projection, position):
                return
            if first and position > await head(self.pool):
                raise NotIssued(f"position {position} has not been handed out by the event store")
            first = False
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise NotYetVisible(f"the {projection} read model has not reached {position} yet")
            with suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, FALLBACK_SECONDS)):
                    await moved.wait()

    def _hint(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def _subscribe(self, nats_url: str, namespace: str) -> None:
        async def on_hint(_msg: Msg) -> None:
            self._hint()

        while True:
            try:
                self._nc = await nats.connect(
                    servers=servers(nats_url),
                    name="wispgate-api-freshness",
                    connect_timeout=RECONNECT_SECONDS,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=RECONNECT_SECONDS,
                    **HEARTBEAT,
                )
                await self._nc.subscribe(projected_hint_subject(namespace), cb=on_hint)
                return
            except Exception as exc:
                log.info("read-your-writes hints wait for NATS: %s", exc)
                await asyncio.sleep(RECONNECT_SECONDS)
