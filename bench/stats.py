"""Percentiles and timed loops shared by the scenarios that measure inside this process."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Throughput:
    """Operations completed in a timed loop, and their latencies in ms."""

    count: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**self.__dict__, "rate": round(self.rate, 1)}


def summarize(latencies: list[float], seconds: float) -> Throughput:
    ms = [x * 1000 for x in latencies]
    return Throughput(len(ms), seconds, percentile(ms, 50), percentile(ms, 99))


async def timed_loop(
    once: Callable[[], Awaitable[object]], concurrency: int, seconds: float
) -> Throughput:
    """`concurrency` tasks call `once` back to back until `seconds` have passed."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while (begun := time.perf_counter()) < deadline:
            await once()
            latencies.append(time.perf_counter() - begun)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summarize(latencies, time.perf_counter() - started)
