"""Running a long-lived process until SIGINT or SIGTERM, on uvloop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import uvloop

from plumbing.logs import configure

Main = Callable[[asyncio.Event], Awaitable[None]]
"""A process's body: it runs until the event it is given is set, then winds down."""


def stop_on_signals(stop: asyncio.Event | None = None) -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (the given one, or a new one)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run_until_signal(main: Main) -> None:
    """Run `main(stop)` on uvloop, with `stop` set by SIGINT or SIGTERM."""

    async def body() -> None:
        await main(stop_on_signals())

    uvloop.run(body())


def serve(log_level: str, main: Main) -> None:
    """A worker process: logging set up, then `main(stop)` until SIGINT or SIGTERM."""
    configure(log_level)
    run_until_signal(main)
