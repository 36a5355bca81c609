"""Reading and checking one file, step by step in threads, as the file's own doing.

Parsing is the CPU-heavy part of an import, so it runs in threads and the event loop keeps
renewing the job's lease. Whatever goes wrong inside a step is the file's fault, not a
passing outage (the file is in memory; nothing there touches PostgreSQL or NATS): the reader's
refusals, but also a ValueError, a RecursionError or a MemoryError a hostile file provokes, or
an exception nobody expected. Each becomes `Unreadable`, which fails the job at once with a
message instead of crashing five attempts in a row. The steps' CPU time is counted against the
job's budget, checked between rows too, so a file that is slow to read stops in time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from .xlsx import Refused

log = logging.getLogger(__name__)

T = TypeVar("T")
# The clock is looked at every so many rows (a system call each time).
CHECK_EVERY = 256


class Unreadable(Refused):
    """The file cannot be read or checked; the message says why. Never retried."""


class Reading:
    """The reading of one job's file: its steps' CPU time and their failures."""

    def __init__(self, cpu_seconds: float, fields: dict[str, object]) -> None:
        self.cpu_seconds = cpu_seconds
        self.fields = fields
        self.spent = 0.0
        self.abandoned = False
        self._step = threading.local()
        self._calls = 0

    async def step(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in a thread, counted; Unreadable if it raised anything."""
        return await asyncio.to_thread(self._run, fn, *args)

    def check(self) -> None:
        """Called between rows inside a step: Unreadable once the budget is spent, and stops a
        step whose attempt was given up (a thread cannot be cancelled)."""
        self._calls += 1
        if self._calls % CHECK_EVERY:
            return
        if self.abandoned:
            raise Unreadable("The import was stopped while the file was being read.")
        started = getattr(self._step, "started", None)
        used = self.spent + (time.thread_time() - started if started is not None else 0.0)
        if used > self.cpu_seconds:
            raise Unreadable(
                f"Reading and checking the file took more than {self.cpu_seconds:g} seconds of"
                " processor time: split it into smaller files."
            )

    def abandon(self) -> None:
        self.abandoned = True

    def _run(self, fn: Callable[..., T], *args: object) -> T:
        started = self._step.started = time.thread_time()
        try:
            return fn(*args)
        except Refused:
            raise
        except Exception as exc:
            raise Unreadable(self._explained(exc)) from exc
        finally:
            self.spent += time.thread_time() - started
            self._step.started = None

    def _explained(self, exc: Exception) -> str:
        if isinstance(exc, MemoryError):
            log.warning("file needs too much memory", extra=self.fields)
            return (
                "The file needs more memory to read than an import may use: split it into"
                " smaller files."
            )
        if isinstance(exc, RecursionError):
            log.warning("file nested too deeply", extra=self.fields)
            return (
                "The file is nested too deeply to be read: open it in a spreadsheet program,"
                " save it again as .xlsx and upload that."
            )
        log.exception("file could not be read", extra=self.fields)
        return (
            f"The file could not be read ({type(exc).__name__}): it may be damaged. Open it in"
            " a spreadsheet program, save it again as .xlsx and upload that."
        )
