"""NATS: connections that survive a server going away, and JetStream streams set up once.

Streams belong to the project's setup (`python -m services.X setup`): subscribers bind to them
without redeclaring them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable

import nats
from nats.aio.client import Client as NATS
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.manager import JetStreamManager

log = logging.getLogger(__name__)

# "stream name already in use with a different configuration"
_STREAM_NAME_IN_USE = 10058
# A server that stops answering (frozen, its disk stalled, its machine gone without a reset) is
# noticed within PING_INTERVAL * (MAX_OUTSTANDING_PINGS + 1) seconds, and the client moves to
# another server of the cluster. nats-py's defaults (120 s, 2) would keep it there for minutes.
PING_INTERVAL = 2
MAX_OUTSTANDING_PINGS = 2
# The same for every connection a process makes: `nats.connect(..., **HEARTBEAT)`,
# `NatsBroker(..., **HEARTBEAT)`.
HEARTBEAT = {"ping_interval": PING_INTERVAL, "max_outstanding_pings": MAX_OUTSTANDING_PINGS}


def servers(nats_url: str | Iterable[str]) -> list[str]:
    """The servers of a NATS_URL: one, or a cluster's separated by commas."""
    urls = nats_url.split(",") if isinstance(nats_url, str) else list(nats_url)
    return [u.strip() for u in urls if u.strip()]


async def connect(nats_url: str, name: str, wait_seconds: float = 10.0) -> NATS:
    """A connection that reconnects forever once made; the first attempt is bounded."""
    nc = NATS()

    async def disconnected() -> None:
        if not nc.is_closed:  # our own close() reports a disconnection too
            log.warning("NATS disconnected, reconnecting", extra={"client": name})

    async def error(exc: Exception) -> None:
        log.warning("NATS error: %r", exc, extra={"client": name})

    try:
        # Bounded so that a caller retrying with backoff can honour a stop while NATS is away.
        async with asyncio.timeout(wait_seconds):
            await nc.connect(
                servers=servers(nats_url),
                name=name,
                connect_timeout=2,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                ping_interval=PING_INTERVAL,
                max_outstanding_pings=MAX_OUTSTANDING_PINGS,
                error_cb=error,
                disconnected_cb=disconnected,
            )
    except BaseException:
        await nc.close()
        raise
    return nc


async def connect_once(nats_url: str, wait_seconds: float = 5.0) -> NATS:
    """A short-lived connection for setup and probes: a few attempts, then an error."""
    return await nats.connect(
        servers=servers(nats_url),
        connect_timeout=wait_seconds,
        max_reconnect_attempts=3,
        error_cb=_quiet,
    )


async def ensure_stream(
    nats_url: str, wanted: StreamConfig, managed: Iterable[str] = ("subjects",)
) -> None:
    """Create a stream, or bring the `managed` fields of an existing one to `wanted`.

    Every other setting an operator may have tuned (limits, placement) is kept.
    """
    name = wanted.name or ""
    nc = await connect_once(nats_url)
    try:
        jsm = nc.jsm()
        try:
            current = (await jsm.stream_info(name)).config
        except NotFoundError:
            try:
                # Several processes may race here: the server accepts an identical config twice.
                await jsm.add_stream(wanted)
                log.info("created stream", extra={"stream": name})
                return
            except BadRequestError as exc:
                if exc.err_code != _STREAM_NAME_IN_USE:
                    raise
                current = (await jsm.stream_info(name)).config
        await _update_if_changed(jsm, current, wanted, managed)
    finally:
        await nc.close()


async def _update_if_changed(
    jsm: JetStreamManager, current: StreamConfig, wanted: StreamConfig, managed: Iterable[str]
) -> None:
    if current.storage != wanted.storage:
        raise RuntimeError(
            f"stream {wanted.name} uses {current.storage} storage, not {wanted.storage}:"
            " JetStream cannot change it in place; move the stream by hand"
        )
    changed = {
        field: getattr(wanted, field)
        for field in managed
        if getattr(current, field) != getattr(wanted, field)
    }
    if not changed:
        return
    await jsm.update_stream(dataclasses.replace(current, **changed))
    log.info("updated stream", extra={"stream": wanted.name, "fields": sorted(changed)})


async def stream_ready(nc: NATS, stream: str, wait_seconds: float = 1.0) -> bool:
    """Whether a stream exists, over a connection the caller already holds; never raises."""
    try:
        await nc.jetstream(timeout=wait_seconds).stream_info(stream)
    except Exception:
        return False
    return True


async def nats_ready(nats_url: str, stream: str, wait_seconds: float = 1.0) -> bool:
    """Whether NATS answers and a stream exists, within `wait_seconds`; never raises."""
    try:
        async with asyncio.timeout(wait_seconds):
            nc = await nats.connect(
                servers=servers(nats_url),
                connect_timeout=wait_seconds,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                error_cb=_quiet,
            )
            try:
                return await stream_ready(nc, stream, wait_seconds)
            finally:
                await nc.close()
    except Exception:
        return False


async def _quiet(exc: Exception) -> None:
    # A failed probe answers False; nats-py would otherwise log a traceback per attempt.
    pass
