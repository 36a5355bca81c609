"""Append hints: a core NATS message after a commit, so the relay publishes at once and the
projection worker catches up at once.

A hint only, never the source of truth: both also poll, so a hint that is lost (NATS away, the
process killed between commit and hint) delays them by at most their poll interval and loses
nothing. Hints replace a PostgreSQL NOTIFY trigger, because PostgreSQL serialises the
commits of all transactions that notify (one lock held through each commit's WAL flush): with it,
appends from 32 connections ran at about one per fsync.

Hints sent in the same turn of the event loop go out as one message.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import nats
from nats.aio.client import Client as NATS

from contracts.subjects import appended_hint_subject
from plumbing.broker import HEARTBEAT, servers

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 2.0


class AppendHints:
    """Sends `{ns}.hints.appended` after appends; connects (and reconnects) in the background."""

    def __init__(self, nats_url: str, namespace: str, name: str) -> None:
        self.nats_url = nats_url
        self.subject = appended_hint_subject(namespace)
        self.name = name
        self._nc: NATS | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._due = False
        self._sending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Begin connecting; hints are dropped until the connection stands."""
        self._connecting = asyncio.create_task(self._connect())

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with suppress(asyncio.CancelledError):
                await self._connecting
        if self._nc is not None and not self._nc.is_closed:
            with suppress(Exception):
                await self._nc.drain()

    def appended(self) -> None:
        """Say that events were appended; cheap, never raises, never waits."""
        if self._due or self._nc is None or not self._nc.is_connected:
            return
        self._due = True
        asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._due = False
        task = asyncio.ensure_future(self._publish())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self) -> None:
        assert self._nc is not None
        try:
            await self._nc.publish(self.subject, b"")
        except Exception as exc:  # a hint: the relay's poll covers it
            log.debug("append hint not sent: %s", exc)

    async def _connect(self) -> None:
        while True:
            try:
                self._nc = await nats.connect(
                    servers=servers(self.nats_url),
                    name=self.name,
                    connect_timeout=RECONNECT_SECONDS,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=RECONNECT_SECONDS,
                    **HEARTBEAT,
                )
                return
            except Exception as exc:
                log.info("append hints wait for NATS: %s", exc)
                await asyncio.sleep(RECONNECT_SECONDS)
