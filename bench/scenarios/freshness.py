"""Freshness: from a command's response to its change in the list read model and its event on
the broker, at a fixed 500 commands/s.

wrk logs each response with its CLOCK_MONOTONIC time (the clock of `time.monotonic()`); this
process meanwhile subscribes to the tenant's `subscription.created` subject and polls the
`subscriptions` projection's checkpoint every POLL_SECONDS. An event is in the read model from
the first poll whose checkpoint is at or past the event's (txid, position): the checkpoint moves
in the transaction that writes the rows. Yardstick: a core NATS publish-to-receive round trip
at the same rate, in this process.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg
import nats

from contracts.subjects import event_subject

from .. import wrk
from ..live import TENANT, LiveSystem
from ..memory import Memory
from ..report import Figure, Scenario
from ..sizes import Size
from ..stats import percentile

POLL_SECONDS = 0.002
GOAL_MS = 50.0  # the issue: response to visible in the list, p99 at 500/s
CHECKPOINT = """
select txid::text::bigint, position from read.checkpoints where projection = 'subscriptions'
"""
TXIDS = "select position, txid::text::bigint from events.events where position = any($1)"


async def freshness(live: LiveSystem, size: Size, memory: Memory) -> Scenario:
    scenario = Scenario("freshness")
    await live.drain()
    nc = await nats.connect(live.world.nats_url)
    arrivals: list[tuple[float, bytes]] = []

    async def arrived(msg: nats.aio.msg.Msg) -> None:
        arrivals.append((time.monotonic(), msg.data))

    subject = event_subject(live.world.namespace, TENANT, "subscription.created")
    await nc.subscribe(subject, cb=arrived)
    samples: list[tuple[float, tuple[int, int]]] = []
    stop = asyncio.Event()
    poller = asyncio.create_task(_poll(live.dsn, samples, stop))
    folder = Path(tempfile.mkdtemp(prefix="bench-fresh-"))
    load = wrk.Load(
        url=live.api + "/api/v1/subscriptions",
        method="POST",
        body=live.create_body(),
        token=live.token,
        connections=16,
        threads=1,
        seconds=size.freshness_seconds,
        rate=size.freshness_rate,
        log_prefix=str(folder / "responses"),
    )
    try:
        with memory.scenario() as rss:
            outcome = await wrk.run(load, memory)
            await live.drain()
            responses = _responses(folder)
            await _until_arrived(arrivals, len(responses))
        stop.set()
        await poller
        round_trips = await _nats_round_trips(nc, live.world.namespace, size)
    finally:
        stop.set()
        await nc.close()
        shutil.rmtree(folder, ignore_errors=True)
    scenario.rss_mib = rss
    txids = await _txids(live.dsn, [position for _, _, position in responses])
    broker = _to_broker(responses, arrivals)
    listed = _to_list(responses, txids, samples)
    nats_p50, nats_p99 = percentile(round_trips, 50), percentile(round_trips, 99)
    yardstick = f"NATS round trip p50 {nats_p50:.2f} / p99 {nats_p99:.2f} ms"
    scenario.add(
        Figure("rate held", outcome.rate, "commands/s", "", None),
        Figure("to list read model p50", percentile(listed, 50), "ms", yardstick),
        Figure("to list read model p99", percentile(listed, 99), "ms", yardstick, ("<=", GOAL_MS)),
        Figure("to broker p50", percentile(broker, 50), "ms", yardstick),
        Figure("to broker p99", percentile(broker, 99), "ms", yardstick),
        Figure("command p99", outcome.p99_ms, "ms", ""),
    )
    scenario.details = {
        "commands": outcome.as_dict(),
        "measured": {"list": len(listed), "broker": len(broker)},
        "poll_seconds": POLL_SECONDS,
        "checkpoint_polls": len(samples),
    }
    scenario.notes.append(
        f"{size.freshness_rate:g}/s for {size.freshness_seconds:g} s; read-model times are at "
        f"most {POLL_SECONDS * 1000:g} ms late (checkpoint poll interval)"
    )
    return scenario


async def _poll(dsn: str, samples: list[tuple[float, tuple[int, int]]], stop: asyncio.Event):
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            row = await conn.fetchrow(CHECKPOINT)
            samples.append((time.monotonic(), (row[0], row[1])))
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await conn.close()


def _responses(folder: Path) -> list[tuple[float, str, int]]:
    """(monotonic time, subscription id, position) of every 201 answer wrk logged."""
    found = []
    for path in sorted(folder.glob("responses-*.log")):
        for line in path.read_text().splitlines():
            at, status, body = line.split(" ", 2)
            if status == "201":
                answer = json.loads(body)
                found.append((float(at), answer["id"], int(answer["position"])))
    return found


async def _until_arrived(arrivals: list, expected: int, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    # Polled with a deadline: the list grows in the subscription's callbacks.
    while len(arrivals) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def _txids(dsn: str, positions: list[int]) -> dict[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return dict(await conn.fetch(TXIDS, positions))
    finally:
        await conn.close()


def _to_broker(responses, arrivals) -> list[float]:
    at = {json.loads(data)["stream_id"]: t for t, data in arrivals}
    return [max(0.0, at[sid] - t) * 1000 for t, sid, _ in responses if sid in at]


def _to_list(responses, txids: dict[int, int], samples) -> list[float]:
    checkpoints = [checkpoint for _, checkpoint in samples]
    delays = []
    for t, _, position in responses:
        index = bisect.bisect_left(checkpoints, (txids[position], position))
        if index < len(samples):
            delays.append(max(0.0, samples[index][0] - t) * 1000)
    return delays


async def _nats_round_trips(nc: nats.NATS, namespace: str, size: Size) -> list[float]:
    """Core NATS publish to receive, in ms, at the scenario's rate for a few seconds."""
    trips: list[float] = []

    async def received(msg: nats.aio.msg.Msg) -> None:
        trips.append((time.monotonic() - float(msg.data)) * 1000)

    subject = f"{namespace}.bench.ping"
    sub = await nc.subscribe(subject, cb=received)
    interval, count = 1 / size.freshness_rate, int(size.freshness_rate * 2)
    start = time.monotonic()
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
        await nc.publish(subject, str(time.monotonic()).encode())
    await nc.flush()
    await _until_arrived(trips, count, 5)
    await sub.unsubscribe()
    return trips
