"""How big a run is: `quick` (under two minutes, what the test runs) and `full` (the figures)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    command_seconds: float  # closed-loop commands from 32 connections (the issue: 30 s)
    steady_seconds: float  # at a fixed 1,000 commands/s
    freshness_seconds: float  # at 500 commands/s
    warmup_seconds: float
    append_seconds: float  # per store and concurrency
    subscriptions: int  # for the rebuild, reads and the export (the issue: 1,000,000)
    read_seconds: float  # per list query and per inner-page tab
    inner_subscriptions: int  # each with a service and a device (the issue: 100,000)
    inner_sample: int  # subscriptions whose tabs are read
    feed_runs: int  # calls of the LibreQoS feed for the whole tenant
    import_rows: int  # rows of the uploaded .xlsx (the issue: 100,000)
    connections: int = 32
    steady_rate: float = 1000
    freshness_rate: float = 500


SIZES = {
    "quick": Size(
        name="quick",
        command_seconds=4,
        steady_seconds=3,
        freshness_seconds=3,
        warmup_seconds=1,
        append_seconds=1.5,
        subscriptions=20_000,
        read_seconds=1,
        inner_subscriptions=5_000,
        inner_sample=200,
        feed_runs=2,
        import_rows=2_000,
    ),
    "full": Size(
        name="full",
        command_seconds=30,
        steady_seconds=30,
        freshness_seconds=20,
        warmup_seconds=3,
        append_seconds=8,
        subscriptions=1_000_000,
        read_seconds=3,
        inner_subscriptions=100_000,
        inner_sample=1_000,
        feed_runs=3,
        import_rows=100_000,
    ),
}
