"""Event store append: new streams of one event, through three stores, in one run.

- ours: services/subscription/eventstore.py `EventStore.append` (asyncpg pool of 32).
- the `eventsourcing` library: `PostgresApplicationRecorder.insert_events` (psycopg pool of 32,
  one thread per concurrent writer), the library's store with a global order like ours.
- raw: one `insert` of one row per transaction (asyncpg), the floor of a durable commit.

The same pydantic event is built and serialized per append for ours and the library; raw
commits insert a ready JSON text. No service process runs meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg

from contracts.envelope import Metadata
from contracts.subscription import Status, SubscriptionCreated
from services.subscription.db import create_pool
from services.subscription.eventstore import EventStore, StreamAppend

from ..memory import Memory
from ..report import Figure, Scenario
from ..sizes import Size
from ..stats import Throughput, summarize, timed_loop

TENANT = "bench-append"
CONCURRENCY = (1, 32)
WARMUP_SECONDS = 0.5
RAW_TABLE = """
create schema if not exists bench;
create table if not exists bench.raw_commits (id uuid primary key, data jsonb not null)
"""
RAW_INSERT = "insert into bench.raw_commits (id, data) values ($1, $2)"
METADATA = Metadata(actor="bench")
CONTACT, ENGINEER = uuid4(), uuid4()


def event() -> SubscriptionCreated:
    """The event every append writes (a new subscription)."""
    return SubscriptionCreated(
        unique_id="SUB-000001",
        name="Bench subscription",
        contact_id=CONTACT,
        engineer_id=ENGINEER,
        status=Status.ACTIVE,
        description="appended by the benchmark",
    )


async def append(dsn: str, size: Size, memory: Memory) -> Scenario:
    scenario = Scenario("append")
    with memory.scenario() as rss:
        ours = await _ours(dsn, size)
        library = await asyncio.to_thread(_library, dsn, size)
        raw = await _raw(dsn, size)
    scenario.rss_mib = rss
    for c in CONCURRENCY:
        yard = f"library {_rate(library, c)}, raw {_rate(raw, c)}"
        scenario.add(Figure(f"ours, concurrency {c}", ours[c].rate, "appends/s", yard))
    top = CONCURRENCY[-1]
    if library:
        scenario.add(
            Figure(
                f"ours / library at {top}",
                ours[top].rate / library[top].rate,
                "x",
                f"library {library[top].rate:,.0f}/s",
                (">=", 4),
            )
        )
    else:
        scenario.notes.append("eventsourcing[postgres] is not installed: no library figures")
    scenario.add(
        Figure(
            f"ours / raw commits at {top}",
            ours[top].rate / raw[top].rate,
            "x",
            f"raw {raw[top].rate:,.0f}/s",
            (">=", 0.7),
        )
    )
    scenario.details = {
        name: {c: t.as_dict() for c, t in results.items()}
        for name, results in (("ours", ours), ("library", library), ("raw", raw))
    }
    scenario.notes.append(f"{size.append_seconds:g} s per store and concurrency, after warm-up")
    return scenario


def _rate(results: dict[int, Throughput], c: int) -> str:
    return f"{results[c].rate:,.0f}/s" if c in results else "n/a"


async def _ours(dsn: str, size: Size) -> dict[int, Throughput]:
    pool = await create_pool(dsn, size=max(CONCURRENCY))
    store = EventStore(pool)

    async def once() -> None:
        item = StreamAppend(
            TENANT, uuid4(), "subscription", 0, [event()], METADATA, datetime.now(UTC)
        )
        await store.append([item])

    try:
        return await _each_concurrency(once, size)
    finally:
        await pool.close()


async def _raw(dsn: str, size: Size) -> dict[int, Throughput]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max(CONCURRENCY))
    await pool.execute(RAW_TABLE)
    data = event().model_dump_json()

    async def once() -> None:
        await pool.execute(RAW_INSERT, uuid4(), data)

    try:
        return await _each_concurrency(once, size)
    finally:
        await pool.close()


async def _each_concurrency(once, size: Size) -> dict[int, Throughput]:
    results = {}
    for c in CONCURRENCY:
        await timed_loop(once, c, WARMUP_SECONDS)
        results[c] = await timed_loop(once, c, size.append_seconds)
    return results


def _library(dsn: str, size: Size) -> dict[int, Throughput]:
    """The same appends through eventsourcing's PostgreSQL application recorder."""
    try:
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    except ImportError:
        return {}
    parts = urlsplit(dsn)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        pool_size=max(CONCURRENCY),
        schema="bench",
    )
    recorder = PostgresApplicationRecorder(datastore, events_table_name="library_events")
    topic = f"{SubscriptionCreated.__module__}:{SubscriptionCreated.__qualname__}"

    def once() -> None:
        state = event().model_dump_json().encode()
        recorder.insert_events([StoredEvent(uuid4(), 1, topic, state)])

    try:
        with datastore.get_connection() as conn:
            conn.execute("create schema if not exists bench")
        recorder.create_table()
        results = {}
        for c in CONCURRENCY:
            _threaded_loop(once, c, WARMUP_SECONDS)
            results[c] = _threaded_loop(once, c, size.append_seconds)
        return results
    finally:
        datastore.close()


def _threaded_loop(once, concurrency: int, seconds: float) -> Throughput:
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds

    def worker() -> None:
        mine = []
        while (begun := time.perf_counter()) < deadline:
            once()
            mine.append(time.perf_counter() - begun)
        with lock:
            latencies.extend(mine)

    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return summarize(latencies, time.perf_counter() - started)
