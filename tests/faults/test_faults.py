"""Survive the servers: PostgreSQL stopped, a NATS node killed or frozen, workers killed meanwhile.

One fault at a time, in this order, on the world of conftest.py, under a load of creates,
status changes and reads (and, during the first fault, an import). After each: every
acknowledged command is in the store exactly once, the stream holds each stored event once, the
read models equal a rebuild, clients saw 503 with Retry-After and never a 500 or a hang, and
/readyz came back by itself. The figures are logged (`make faults` shows them).
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import httpx
import pytest

from contracts.subjects import durable_name, events_stream, imports_stream
from plumbing.settings import ServiceSettings as Settings
from tests.faults import checks
from tests.faults.servers import free_port
from tests.faults.world import NAMESPACE, Fault, World, report
from tests.helpers import admin_client, until

pytestmark = pytest.mark.faults

OUTAGE = 10.0  # seconds a server stays away
PAUSE = 20.0  # seconds a node stays frozen: past the clients' pings (noticed within 6 s)
IMPORT_ROWS = 3000


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def test_setup_raises_the_stream_replicas_in_place(world: World) -> None:
    """A stream made with one replica is given three by setup, keeping every message."""
    async with world.client() as (http, _, refs):
        for n in range(20):
            body = {**refs, "name": f"before {n}", "status": "Active"}
            assert (await http.post("/api/v1/subscriptions", json=body)).status_code == 201
    await world.settled()
    events = events_stream(NAMESPACE)
    before = await world.cluster.stream_info(events)
    assert before.config.num_replicas == 1

    await asyncio.to_thread(world.processes.setup)  # WISPGATE_STREAM_REPLICAS=3

    for stream in (events, imports_stream(NAMESPACE)):
        info = await world.cluster.stream_info(stream)
        assert info.config.num_replicas == 3, (stream, info.config)
    after = await world.cluster.stream_info(events)
    assert after.state.messages == before.state.messages > 0

    async def replicated() -> bool:
        info = await world.cluster.stream_info(events)
        return info.cluster is not None and len(info.cluster.replicas or []) == 2

    await until(replicated, 30, 0.2, "the events stream never had two followers")
    durables = {
        events: durable_name(NAMESPACE, "projections"),
        imports_stream(NAMESPACE): durable_name(NAMESPACE, "importer"),
    }
    for stream, durable in durables.items():
        consumer = await world.cluster.consumer_info(stream, durable)
        followers = len(consumer.cluster.replicas or []) if consumer.cluster else 0
        replicas = consumer.config.num_replicas
        report(f"consumer {durable}: num_replicas {replicas}, {followers} followers")
    figures = await checks.stream_holds_each_once(world.cluster, world.pool, NAMESPACE)
    report(f"replicas 1 -> 3: {before.state.messages} messages kept; {figures}")


async def test_a_dsn_naming_a_primary_and_a_server_away(world: World) -> None:
    """Setup and the processes' pools take a DATABASE_URL of several hosts (a primary and its
    standbys), the first of them away, and use the one that takes writes."""
    url = (
        f"postgresql://postgres@127.0.0.1:{free_port()},127.0.0.1:{world.pg.port}/wispgate"
        "?target_session_attrs=read-write"
    )
    await asyncio.to_thread(world.processes.setup, DATABASE_URL=url)
    pool = await Settings(DATABASE_URL=url).create_pool("wispgate-faults-hosts", 2)
    try:
        assert await pool.fetchval("select not pg_is_in_recovery()")
        stored = await pool.fetchval("select count(*) from events.events")
    finally:
        await pool.close()
    report(f"DATABASE_URL of two hosts, the first away: setup ran, {stored} events read")


async def test_postgres_fast_shutdown_with_relay_and_projections_killed(world: World) -> None:
    """PostgreSQL stopped (fast) for 10 s mid-import; the relay and the projection worker are
    SIGKILLed while it is down and start again before it is back."""
    fault = Fault("postgres fast shutdown, relay and projections killed while it is down")
    imports: dict[str, Any] = {}

    async def act(fault: Fault, http: httpx.AsyncClient) -> None:
        import_id = imports["id"] = await world.submit_import(http, IMPORT_ROWS)

        async def under_way() -> bool:
            return (await world.import_job(http, import_id))["rows_processed"] > 0

        await until(under_way, 60, 0.1, lambda: f"import never started: {world.tail('importer')}")
        imports["at_fault"] = await world.import_job(http, import_id)
        fault.away()
        await asyncio.to_thread(world.pg.stop, "fast")
        await asyncio.sleep(3)
        for name in ("relay", "projections"):
            world.processes.restart(name)
        report(f"{fault.name}: relay and projections SIGKILLed and started again")
        await _sleep_until(fault.started + OUTAGE)
        await asyncio.to_thread(world.pg.start)
        fault.returned()

    seen = await world.under_load(fault, act)
    assert seen.unavailable > 0, "no client saw PostgreSQL away"
    assert fault.figures["went_red"], "/readyz never went red"
    at_fault = imports["at_fault"]
    report(f"import at the fault: {at_fault['state']}, {at_fault['rows_processed']} rows done")
    async with admin_client(
        world.processes.base_url, world.pool, fault.figures["tenant"], "import"
    ) as http:

        async def finished() -> dict[str, Any] | None:
            job = await world.import_job(http, imports["id"])
            return job if job["state"] in ("completed", "failed") else None

        job = await until(finished, 120, 0.5, lambda: f"import stuck: {world.tail('importer')}")
    fault.figures["import"] = await checks.imported_once(
        world.pool, fault.figures["tenant"], imports["id"], job, IMPORT_ROWS
    )
    report(f"{fault.name}: import {fault.figures['import']}")
    await world.verify(fault)


async def test_postgres_immediate_shutdown(world: World) -> None:
    """PostgreSQL crashes (immediate shutdown) for 10 s; recovery replays its WAL."""
    fault = Fault("postgres immediate shutdown")

    async def act(fault: Fault, http: httpx.AsyncClient) -> None:
        fault.away()
        await asyncio.to_thread(world.pg.stop, "immediate")
        await _sleep_until(fault.started + OUTAGE)
        await asyncio.to_thread(world.pg.start)
        fault.returned()

    seen = await world.under_load(fault, act)
    assert seen.unavailable > 0, "no client saw PostgreSQL away"
    assert fault.figures["went_red"], "/readyz never went red"
    await world.verify(fault)


async def test_nats_stream_leader_killed_with_relay_and_projections_killed(world: World) -> None:
    """The node leading the events stream is SIGKILLed and brought back 10 s later; the relay
    and the projection worker are SIGKILLed while it is down."""
    fault = Fault("NATS events-stream leader killed, relay and projections killed meanwhile")

    async def act(fault: Fault, http: httpx.AsyncClient) -> None:
        leader = await world.cluster.leader(events_stream(NAMESPACE))
        fault.figures["node"] = leader.name
        fault.away()
        await asyncio.to_thread(leader.kill)
        await asyncio.sleep(3)
        for name in ("relay", "projections"):
            world.processes.restart(name)
        report(f"{fault.name}: {leader.name} killed; relay and projections SIGKILLed, restarted")
        await _sleep_until(fault.started + OUTAGE)
        leader.start()
        await asyncio.to_thread(world.cluster.wait_healthy, [leader])
        fault.returned()
        fault.figures["new_leader"] = (await world.cluster.leader(events_stream(NAMESPACE))).name

    await world.under_load(fault, act)
    await world.verify(fault)


async def test_nats_node_paused_past_its_heartbeats(world: World) -> None:
    """The node the relay is connected to is frozen (SIGSTOP) for 15 s, then resumed."""
    fault = Fault("NATS node of the relay paused (SIGSTOP) then resumed")

    async def act(fault: Fault, http: httpx.AsyncClient) -> None:
        node = next(
            (n for n in world.cluster.nodes if "wispgate-relay" in n.connections()),
            await world.cluster.leader(events_stream(NAMESPACE)),
        )
        leader = await world.cluster.leader(events_stream(NAMESPACE))
        fault.figures |= {"node": node.name, "was_leader": node is leader}
        fault.away()
        node.signal(signal.SIGSTOP)
        await _sleep_until(fault.started + PAUSE)
        node.signal(signal.SIGCONT)
        fault.returned()

    await world.under_load(fault, act)
    assert fault.figures["published_while_away"], "the relay did not move to another node"
    await world.verify(fault)
