"""Optional Prometheus endpoint of the worker (PROJECTIONS_METRICS_PORT)."""

from __future__ import annotations

import logging
import time

import asyncpg
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from plumbing.eventlog import projection_lag

from . import deadletters
from .runner import Catchup

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0


class Metrics:
    """Gauges of lag and dead letters, refreshed from the database at most every few seconds."""

    def __init__(self, pool: asyncpg.Pool, catchup: Catchup) -> None:
        self.pool = pool
        self.catchup = catchup
        self.registry = CollectorRegistry()
        self.behind = Gauge(
            "wispgate_projection_lag_events",
            "Committed events a projection has not applied yet",
            ["projection"],
            registry=self.registry,
        )
        self.age = Gauge(
            "wispgate_projection_lag_seconds",
            "Age of the oldest event a projection has not applied yet",
            ["projection"],
            registry=self.registry,
        )
        self.dead = Gauge(
            "wispgate_projection_dead_letters",
            "Events a projection gave up on",
            ["projection"],
            registry=self.registry,
        )
        self.applied = Gauge(
            "wispgate_projection_events_read",
            "Events this worker process has read and applied",
            registry=self.registry,
        )
        self._last = 0.0

    @classmethod
    def start(cls, port: int | None, pool: asyncpg.Pool, catchup: Catchup) -> Metrics | None:
        """Serve metrics on `port`, or do nothing without one."""
        if port is None:
            return None
        metrics = cls(pool, catchup)
        start_http_server(port, registry=metrics.registry)
        return metrics

    async def refresh(self) -> None:
        """Update the gauges, unless they were updated a moment ago."""
        if time.monotonic() - self._last < REFRESH_SECONDS:
            return
        self._last = time.monotonic()
        try:
            for projection, (behind, age) in (await projection_lag(self.pool)).items():
                self.behind.labels(projection).set(behind)
                self.age.labels(projection).set(age)
            for projection, count in (await deadletters.counts(self.pool)).items():
                self.dead.labels(projection).set(count)
        except Exception:
            log.warning("cannot refresh projection metrics", exc_info=True)
        self.applied.set(self.catchup.applied)
