"""What must hold after every fault, and how far behind the relay and the projections were.

Each check returns the counts it compared, for the suite's log, and fails with what differed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts.subjects import events_stream, events_wildcard
from plumbing.eventlog import HEAD, projection_lag
from services.projections.catalog import PROJECTIONS
from services.subscription.publishing.relay import relay_lag
from tests.faults.load import Seen
from tests.faults.servers import NatsCluster
from tests.faults.system import Processes
from tests.helpers import until

SAMPLE_EVERY = 0.1

KEYS = """
select metadata->>'idempotency_key' as key, count(*) as n, min(position) as position
from events.events
where tenant_id = $1 and metadata->>'idempotency_key' is not null
group by 1
"""
IMPORTED = """
select count(*) as events, count(distinct data->>'unique_id') as unique_ids
from events.events
where tenant_id = $1 and type = 'subscription.created' and metadata->>'import_id' = $2
"""


@dataclass
class Sample:
    at: float
    head: int | None = None  # None: PostgreSQL did not answer
    relay: int = 0  # events stored and not yet acknowledged by JetStream
    projections: int = 0  # the most events any projection has not applied


@dataclass
class Lag:
    """Samples head, relay backlog and projection backlog every SAMPLE_EVERY seconds."""

    pool: asyncpg.Pool
    namespace: str
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while not self.stop.is_set():
            sample = Sample(time.monotonic())
            try:
                async with asyncio.timeout(2):
                    sample.head = int(await self.pool.fetchval(HEAD))
                    sample.relay = (await relay_lag(self.pool, self.namespace))[0]
                    lags = await projection_lag(self.pool)
                    sample.projections = max((behind for behind, _ in lags.values()), default=0)
            except Exception:
                sample.head = None
            self.samples.append(sample)
            await asyncio.sleep(SAMPLE_EVERY)

    async def finish(self) -> None:
        self.stop.set()
        await self.task

    def zero_after(self, back: float) -> float | None:
        """Seconds from `back` until both lags were zero with something stored since `back`
        applied (the first such sample); None if never."""
        head_at_back = next(
            (s.head for s in reversed(self.samples) if s.at <= back and s.head is not None), 0
        )
        for sample in self.samples:
            if sample.at < back or sample.head is None:
                continue
            if sample.relay == 0 and sample.projections == 0 and sample.head > head_at_back:
                return sample.at - back
        return None

    def flowing_while_away(self, away: float, back: float) -> bool:
        """Whether, while the server was away, the relay published events stored since it went
        away (it had moved to another node)."""
        head_at_away = next(
            (s.head for s in reversed(self.samples) if s.at <= away and s.head is not None), 0
        )
        return any(
            away < s.at < back and s.head is not None and s.head > head_at_away and s.relay == 0
            for s in self.samples
        )

    def longest_stall(self, which: str) -> float:
        """The longest span in seconds during which `which` ('relay' or 'projections') stayed
        behind (PostgreSQL not answering counts as behind)."""
        longest, since = 0.0, None
        for sample in self.samples:
            behind = sample.head is None or getattr(sample, which) > 0
            if behind and since is None:
                since = sample.at
            elif not behind and since is not None:
                longest, since = max(longest, sample.at - since), None
        if since is not None and self.samples:
            longest = max(longest, self.samples[-1].at - since)
        return longest


async def drained(pool: asyncpg.Pool, namespace: str, within: float = 120) -> None:
    """Until JetStream holds every stored event and every projection applied it."""

    async def done() -> bool:
        try:
            relay = (await relay_lag(pool, namespace))[0]
            lags = await projection_lag(pool)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return relay == 0 and bool(lags) and all(behind == 0 for behind, _ in lags.values())

    await until(done, within, 0.2, "relay or projections did not catch up")


async def acknowledged_once(pool: asyncpg.Pool, tenant_id: str, seen: Seen) -> dict[str, int]:
    """Every acknowledged command is stored exactly once, at the position it was answered with;
    no command is stored twice (one never acknowledged may be stored once)."""
    stored = {r["key"]: (r["n"], r["position"]) for r in await pool.fetch(KEYS, tenant_id)}
    twice = {k: n for k, (n, _) in stored.items() if n != 1}
    missing = [k for k in seen.acked if k not in stored]
    moved = [k for k, p in seen.acked.items() if k in stored and stored[k][1] != p]
    assert not twice, f"commands stored more than once: {twice}"
    assert not missing, f"{len(missing)} acknowledged commands not stored: {missing[:5]}"
    assert not moved, f"{len(moved)} stored at another position than answered: {moved[:5]}"
    unacked = seen.sent - seen.acked.keys()
    return {
        "acknowledged": len(seen.acked),
        "stored_once": sum(1 for k in seen.acked if stored.get(k, (0,))[0] == 1),
        "unacknowledged": len(unacked),
        "unacknowledged_stored": sum(1 for k in unacked if k in stored),
    }


async def stream_holds_each_once(
    cluster: NatsCluster, pool: asyncpg.Pool, namespace: str
) -> dict[str, int]:
    """The events stream holds every stored event, each once."""
    stored = {str(r[0]) for r in await pool.fetch("select event_id from events.events")}
    info = await cluster.stream_info(events_stream(namespace))
    ids = await _stream_event_ids(cluster, namespace, info.state.messages)
    repeated = {i: n for i, n in Counter(ids).items() if n > 1}
    assert not repeated, f"events in the stream more than once: {list(repeated)[:5]}"
    assert info.state.messages == len(ids), (info.state.messages, len(ids))
    assert set(ids) == stored, (
        f"stored but not in the stream: {len(stored - set(ids))}, "
        f"in the stream but not stored: {len(set(ids) - stored)}"
    )
    return {"stored": len(stored), "in_stream": len(ids), "replicas": info.config.num_replicas}


async def _stream_event_ids(cluster: NatsCluster, namespace: str, count: int) -> list[str]:
    """The event ids of the stream's first `count` messages, read by an ephemeral pull
    consumer (made again should one fail while a replica is still catching up)."""
    ids: list[str] = []
    deadline = time.monotonic() + 60
    while len(ids) < count and time.monotonic() < deadline:
        nc = await cluster.connect()
        try:
            sub = await nc.jetstream().pull_subscribe(
                events_wildcard(namespace),
                stream=events_stream(namespace),
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=len(ids) + 1,
                    ack_policy=AckPolicy.NONE,
                    inactive_threshold=30,
                ),
            )
            while len(ids) < count:
                batch = await sub.fetch(min(500, count - len(ids)), timeout=5)
                ids += [json.loads(message.data)["event_id"] for message in batch]
        except nats.errors.Error:
            await asyncio.sleep(0.5)
        finally:
            await nc.close()
    return ids


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for projection in PROJECTIONS.values():
        live = projection()
        for table in projection.tables:
            rows = await pool.fetch(f"select * from {live.table(table)}")
            tables[live.table(table)] = sorted(repr(tuple(row.values())) for row in rows)
    return tables


async def read_models_equal_rebuild(pool: asyncpg.Pool, processes: Processes) -> dict[str, int]:
    """Every read model, row for row, equals what a rebuild from position 0 makes of it."""
    live = await _snapshot(pool)
    await asyncio.to_thread(processes.rebuild)
    rebuilt = await _snapshot(pool)
    for table, rows in live.items():
        if rows != rebuilt[table]:
            only_live = sorted(set(rows) - set(rebuilt[table]))[:3]
            only_rebuilt = sorted(set(rebuilt[table]) - set(rows))[:3]
            raise AssertionError(
                f"{table} differs from a rebuild ({len(rows)} live, {len(rebuilt[table])}"
                f" rebuilt rows): live only {only_live}, rebuilt only {only_rebuilt}"
            )
    return {"tables": len(live), "rows": sum(len(rows) for rows in live.values())}


async def imported_once(
    pool: asyncpg.Pool, tenant_id: str, import_id: str, job: dict[str, object], rows: int
) -> dict[str, int]:
    """The import completed, created each row once, and nothing twice."""
    assert job["state"] == "completed", job
    assert (job["rows_total"], job["rows_created"], job["rows_failed"]) == (rows, rows, 0), job
    found = await pool.fetchrow(IMPORTED, tenant_id, import_id)
    assert (found["events"], found["unique_ids"]) == (rows, rows), dict(found)
    return {"rows": rows, "created_events": found["events"], "unique_ids": found["unique_ids"]}
