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
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg

from contracts.envelope import Metadata
from contracts.subscription import Status, SubscriptionCreated
from plumbing.postgres import create_pool
from services.subscription.write.eventstore import EventStore, StreamAppend

from ..memory import Memory
from ..report import Figure, Scenario
from ..sizes import Size
from ..stats import Throughput, summarize, timed_loop

TENANT = "bench-append"
CONCURRENCY = (1, 32)
WARMUP_SECONDS = 0.5
ROUNDS = 4
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
        ours, library, raw = await _interleaved(dsn, size)
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
    scenario.notes.append(
        f"{size.append_seconds:g} s per store and concurrency after warm-up, in {ROUNDS} "
        "interleaved rounds (the median round is reported), so a noisy spell hits every store"
    )
    return scenario


def _rate(results: dict[int, Throughput], c: int) -> str:
    return f"{results[c].rate:,.0f}/s" if c in results else "n/a"


Loop = Callable[[int, float], Awaitable[Throughput]]  # (concurrency, seconds) -> figures


async def _interleaved(
    dsn: str, size: Size
) -> tuple[dict[int, Throughput], dict[int, Throughput], dict[int, Throughput]]:
    """Every store at every concurrency, round after round; each figure the median round.

    One store's connections are open at a time (three pools of 32 could pass the server's
    max_connections).
    """
    stores = {"ours": _ours, "library": _library, "raw": _raw}
    rounds: dict[tuple[str, int], list[Throughput]] = {}
    for number in range(ROUNDS):
        for name, store in stores.items():
            async with store(dsn) as loop:
                if loop is None:
                    continue
                for c in CONCURRENCY:
                    if number == 0:
                        await loop(c, WARMUP_SECONDS)
                    figure = await loop(c, size.append_seconds / ROUNDS)
                    rounds.setdefault((name, c), []).append(figure)
    median = {key: sorted(runs, key=_by_rate)[len(runs) // 2] for key, runs in rounds.items()}
    return tuple(  # type: ignore[return-value]
        {c: median[name, c] for c in CONCURRENCY if (name, c) in median} for name in stores
    )


def _by_rate(figures: Throughput) -> float:
    return figures.rate


@asynccontextmanager
async def _ours(dsn: str) -> AsyncIterator[Loop]:
    pool = await create_pool(dsn, "wispgate-tests", max(CONCURRENCY))
    store = EventStore(pool)

    async def once() -> None:
        item = StreamAppend(
            TENANT, uuid4(), "subscription", 0, [event()], METADATA, datetime.now(UTC)
        )
        await store.append([item])

    try:
        yield lambda c, seconds: timed_loop(once, c, seconds)
    finally:
        await pool.close()


@asynccontextmanager
async def _raw(dsn: str) -> AsyncIterator[Loop]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max(CONCURRENCY))
    await pool.execute(RAW_TABLE)
    data = event().model_dump_json()

    async def once() -> None:
        await pool.execute(RAW_INSERT, uuid4(), data)

    try:
        yield lambda c, seconds: timed_loop(once, c, seconds)
    finally:
        await pool.close()


@asynccontextmanager
async def _library(dsn: str) -> AsyncIterator[Loop | None]:
    """The same appends through eventsourcing's PostgreSQL application recorder (threads)."""
    try:
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    except ImportError:
        yield None
        return
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
        await asyncio.to_thread(recorder.create_table)
        yield lambda c, seconds: asyncio.to_thread(_threaded_loop, once, c, seconds)
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
