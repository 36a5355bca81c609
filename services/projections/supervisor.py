"""The radius process: FreeRADIUS as a child, started again when it exits and when the NAS
registry changes (FreeRADIUS reads its clients only at start).

The registry's stamp (`credentials.clients_stamp()`, published by the subscription service) is
read every `clients_poll` seconds; while PostgreSQL is away nothing is restarted for it. A
restart drops the requests of a moment, which the routers send again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
from pathlib import Path
from typing import IO

import asyncpg

from .freeradius import RadiusSettings, command, environment

log = logging.getLogger(__name__)

STAMP = "select credentials.clients_stamp()"
STOP_WAIT = 10.0  # seconds FreeRADIUS gets to stop before it is killed


async def supervise(
    settings: RadiusSettings, binary: str, stop: asyncio.Event, output: IO[bytes] | None = None
) -> None:
    """Run FreeRADIUS until `stop`; again after it exits, and when the NAS registry changes.

    Its output goes to ours (`output`: a file instead)."""
    state_dir = settings.state_dir or Path(tempfile.mkdtemp(prefix="wispgate-radius-"))
    state_dir.mkdir(parents=True, exist_ok=True)
    env = environment(settings, state_dir)
    args = command(settings, binary)
    while not stop.is_set():
        stamp = await _stamp(settings.dsn)
        child = await asyncio.create_subprocess_exec(*args, env=env, stdout=output, stderr=output)
        log.info("FreeRADIUS started", extra={"pid": child.pid, "port": settings.auth_port})
        reason = await _until_restart(settings, child, stamp, stop)
        await _stopped(child)
        if reason == "exited":
            log.warning("FreeRADIUS exited; starting it again", extra={"code": child.returncode})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.restart_delay)
        elif reason == "clients":
            log.info("NAS registry changed: FreeRADIUS started again to read its clients")


async def _until_restart(
    settings: RadiusSettings, child: asyncio.subprocess.Process, stamp: str | None,
    stop: asyncio.Event,
) -> str:  # fmt: skip
    """Why FreeRADIUS is to stop: `stop`, `exited` or `clients`."""
    exited = asyncio.ensure_future(child.wait())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            done, _ = await asyncio.wait(
                {exited, stopping}, timeout=settings.clients_poll or None,
                return_when=asyncio.FIRST_COMPLETED,
            )  # fmt: skip
            if stopping in done:
                return "stop"
            if exited in done:
                return "exited"
            now = await _stamp(settings.dsn)
            if now is not None and stamp is not None and now != stamp:
                return "clients"
            stamp = stamp if now is None else now
    finally:
        exited.cancel()
        stopping.cancel()


async def _stamp(dsn: str) -> str | None:
    """The NAS registry's stamp, or None while PostgreSQL does not answer."""
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        stamp: str = await conn.fetchval(STAMP)
        return stamp
    except (OSError, asyncpg.PostgresError):
        return None
    finally:
        await conn.close()


async def _stopped(child: asyncio.subprocess.Process) -> None:
    if child.returncode is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), STOP_WAIT)
    except TimeoutError:
        child.kill()
        await child.wait()
