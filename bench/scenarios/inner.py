"""The inner page at scale: one tenant of many subscriptions (the issue: 100,000), each with a
service and a device; every tab's endpoint over a sample of them, and the LibreQoS feed of the
whole tenant.

Runs on the run's `inner` database: the events and reservations are COPYed
(bench/inner_dataset.py), every projection is rebuilt by the projections' CLI, then only the API
runs. Each tab is read by wrk (-c1) cycling through the paths of a random sample of
subscriptions, beside GET /healthz of the same process. The feed is called `feed_runs` times from
a plain socket (bench/feed.py): total time, time to first byte and to the first device, size,
and the API's RSS before each call and its peak during it.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx

from plumbing.postgres import create_pool
from services.subscription.access import tokens
from services.subscription.read.libreqos import SHAPED

from .. import feed, inner_dataset, wrk
from ..memory import Memory
from ..report import Figure, Scenario
from ..runtime import PY, ROOT, Processes, World, admin_token, free_port
from ..sizes import Size

REBUILD = [PY, "-m", "services.projections", "rebuild"]
PATH = "/api/v1/subscriptions/{}"
# Tab -> items its answer must hold for a loaded subscription (None: not a list).
TABS = {
    "summary": ("", None),
    "details": ("/details", None),
    "services": ("/services", 1),
    "hotspots": ("/hotspots", 0),
    "devices": ("/devices", 1),
    "history": ("/history", 3),
    "payments": ("/payments", 0),
    "touchpoints": ("/touchpoints", 0),
}
FEED_GOAL_SECONDS = 3.0
# "Memory flat": the API's peak RSS grows by at most this share of the response's size.
FLAT_SHARE = 0.1
TABLES = ("subscriptions", "services", "devices", "history")
# Tables the planner had no statistics of when they were queried (fresh from a rebuild).
UNANALYZED = """
select relname from pg_stat_user_tables
where schemaname = 'read' and relname = any($1)
  and coalesce(last_analyze, last_autoanalyze) is null
order by relname
"""
ROWS = "select (select count(*) from read.services), (select count(*) from read.devices)"


class InnerSystem:
    """The `inner` database: set up, loaded, rebuilt, and served by an API process."""

    def __init__(self, world: World, logs: Path, memory: Memory) -> None:
        self.world = world
        self.dsn = world.dsn("inner")
        self.port = free_port()
        self.processes = Processes(world.env(self.dsn, API_PORT=str(self.port)), logs, memory)
        self.logs = logs
        self.memory = memory

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def prepare(self, size: Size) -> tuple[inner_dataset.InnerDataset, float]:
        """Set up, load the tenant's events, rebuild every projection (seconds of the rebuild)."""
        await asyncio.to_thread(self.world.setup, self.dsn, self.logs)
        loaded = await inner_dataset.load(self.dsn, size.inner_subscriptions)
        started = time.perf_counter()
        with (self.logs / "rebuild-inner.log").open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *REBUILD, env=self.processes.env, cwd=ROOT, stdout=out, stderr=out
            )
            code = await process.wait()
        if code != 0:
            raise RuntimeError(f"rebuild exited {code}: {self.processes.tail('rebuild-inner')}")
        return loaded, time.perf_counter() - started

    def stop(self) -> None:
        self.processes.stop_all()


async def inner(system: InnerSystem, size: Size, memory: Memory) -> Scenario:
    scenario = Scenario("inner")
    loaded, rebuild_seconds = await system.prepare(size)
    unanalyzed = await _check_rows(system.dsn, loaded.subscriptions)
    api = system.processes.start("api")
    await system.processes.wait_http(f"{system.api}/readyz")
    token = await admin_token(system.dsn, loaded.tenant_id)
    feed_token = await _read_token(system.dsn, loaded.tenant_id)
    sample = random.Random(7).sample(loaded.subscription_ids, size.inner_sample)
    folder = Path(tempfile.mkdtemp(prefix="bench-inner-"))
    tabs: dict[str, dict] = {}
    with memory.scenario() as rss:
        floor = await wrk.run(wrk.Load(f"{system.api}/healthz", 1, size.read_seconds), memory)
        for name, (suffix, items) in TABS.items():
            await _check_tab(system.api, token, PATH.format(sample[0]) + suffix, items)
            paths = folder / f"{name}.txt"
            paths.write_text("".join(PATH.format(s) + suffix + "\n" for s in sample))
            load = wrk.Load(system.api + PATH.format(sample[0]), 1, size.read_seconds,
                            token=token, paths_file=paths)  # fmt: skip
            outcome = await wrk.run(load, memory)
            if outcome.errors:
                raise RuntimeError(f"{name}: {outcome.error_kinds}")
            tabs[name] = outcome.as_dict()
            yardstick = f"p50 {outcome.p50_ms:.1f} ms; /healthz p99 {floor.p99_ms:.2f} ms"
            scenario.add(Figure(f"{name} p99", outcome.p99_ms, "ms", yardstick))
        calls = [await feed.call(system.api, feed_token, api.pid) for _ in range(size.feed_runs)]
    system.processes.stop("api")
    query_seconds = await _query_seconds(system.dsn, loaded.tenant_id)
    for call in calls:
        if call.devices != loaded.subscriptions:
            raise RuntimeError(f"feed: {call.devices} devices, {loaded.subscriptions} open")
    scenario.add(*_feed_figures(calls, query_seconds))
    scenario.rss_mib = rss
    scenario.details = {
        "load": {"events": loaded.events, "reservations": loaded.reservations,
                 "seconds": round(loaded.seconds, 1)},
        "rebuild_seconds": round(rebuild_seconds, 1),
        "healthz": floor.as_dict(),
        "tabs": tabs,
        "sample": len(sample),
        "feed_calls": [_call_dict(c) for c in calls],
        "feed_query_seconds": query_seconds,
        "tables_unanalyzed_when_read": unanalyzed,
    }  # fmt: skip
    scenario.notes.append(
        f"{loaded.subscriptions:,} subscriptions in one tenant, each with a service and a device "
        f"({loaded.events:,} events COPYed in {loaded.seconds:.1f} s, every projection rebuilt "
        f"in {rebuild_seconds:.1f} s); tabs: wrk -c1 for {size.read_seconds:g} s each over "
        f"{len(sample):,} random subscriptions; feed: {len(calls)} calls with a read token"
    )
    if unanalyzed:
        scenario.notes.append(f"no planner statistics yet of read.{', read.'.join(unanalyzed)}")
    return scenario


def _feed_figures(calls: list[feed.FeedCall], query_seconds: float) -> list[Figure]:
    slowest = max(calls, key=lambda c: c.seconds)
    mib = slowest.body_bytes / 2**20
    before = min(c.rss_before_kib for c in calls) / 1024
    peak = max(c.peak_kib for c in calls) / 1024
    growth = max(c.peak_kib - c.rss_before_kib for c in calls) / 1024
    times = ", ".join(f"{c.seconds:.2f}" for c in calls)
    return [
        Figure(f"LibreQoS feed, slowest of {len(calls)}", slowest.seconds, "s",
               f"calls {times} s; the query alone {query_seconds:.2f} s",
               ("<=", FEED_GOAL_SECONDS)),
        Figure("feed time to first byte", statistics.median(c.first_byte_seconds for c in calls)
               * 1000, "ms", "first device "
               f"{statistics.median(c.first_device_seconds for c in calls) * 1000:.0f} ms; "
               f"chunked: {'yes' if all(c.chunked for c in calls) else 'NO'}"),
        Figure("feed response size", mib, "MiB", f"{slowest.devices:,} shaped devices"),
        Figure("feed API peak RSS growth", growth, "MiB",
               f"RSS before {before:.0f} MiB, peak {peak:.0f} MiB; response {mib:.1f} MiB",
               ("<=", round(FLAT_SHARE * mib, 1))),
    ]  # fmt: skip


def _call_dict(call: feed.FeedCall) -> dict:
    return {
        "seconds": round(call.seconds, 3),
        "first_byte_seconds": round(call.first_byte_seconds, 4),
        "first_device_seconds": round(call.first_device_seconds, 4),
        "body_bytes": call.body_bytes,
        "devices": call.devices,
        "chunked": call.chunked,
        "rss_before_mib": round(call.rss_before_kib / 1024, 1),
        "peak_rss_mib": round(call.peak_kib / 1024, 1),
        "first_device": call.first,
    }


async def _check_rows(dsn: str, subscriptions: int) -> list[str]:
    """The rebuild projected every service and device; the tables without statistics."""
    conn = await asyncpg.connect(dsn)
    try:
        services, devices = await conn.fetchrow(ROWS)
        if services != subscriptions or devices != subscriptions:
            raise RuntimeError(f"rebuild left {services} services, {devices} devices")
        return [r["relname"] for r in await conn.fetch(UNANALYZED, list(TABLES))]
    finally:
        await conn.close()


async def _check_tab(base: str, token: str, path: str, items: int | None) -> None:
    """One answer of the tab: 200, and the loaded items when it is a list."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        answer = await http.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
    if items is not None and len(answer.json()["items"]) != items:
        raise RuntimeError(f"{path}: expected {items} items: {answer.text[:300]}")


async def _read_token(dsn: str, tenant_id: str) -> str:
    """A `read` token of the tenant, as LibreQoS's integration is given."""
    pool = await create_pool(dsn, "wispgate-tests", 1)
    try:
        token, _ = await tokens.create(pool, "libreqos", tenant_id, "read")
        return token
    finally:
        await pool.close()


async def _query_seconds(dsn: str, tenant_id: str) -> float:
    """The feed's query alone, every row fetched by asyncpg (the database's share)."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.fetch(SHAPED, tenant_id, UUID(int=0), 2**62)  # every page as one
        return time.perf_counter() - started
    finally:
        await conn.close()
