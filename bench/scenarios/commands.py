"""Commands over HTTP: flat out from 32 connections, and held at a fixed 1,000 per second.

The load comes from wrk on the same two cores as the servers. The yardstick is the bare
endpoint of bench/yardstick.py under the same load, in the same run.
"""

from __future__ import annotations

from .. import wrk
from ..live import LiveSystem
from ..memory import Memory
from ..report import Figure, Scenario
from ..sizes import Size

PATH = "/api/v1/subscriptions"


def _loads(live: LiveSystem, seconds: float, connections: int, rate: float | None = None):
    """The same load against the API and against the yardstick."""
    common = {"connections": connections, "seconds": seconds, "threads": 2, "rate": rate}
    api = wrk.Load(
        url=live.api + PATH, method="POST", body=live.create_body(), token=live.token, **common
    )
    bare = wrk.Load(url=live.yardstick + "/yardstick", method="POST", body=api.body, **common)
    return api, bare


def _latency(name: str, api: wrk.Outcome, bare: wrk.Outcome, goal: float | None) -> list[Figure]:
    return [
        Figure(f"{name} p50", api.p50_ms, "ms", f"bare {bare.p50_ms:.2f} ms"),
        Figure(
            f"{name} p99",
            api.p99_ms,
            "ms",
            f"bare {bare.p99_ms:.2f} ms",
            ("<=", goal) if goal else None,
        ),
        Figure(f"{name} errors", api.errors, "", f"bare {bare.errors}"),
    ]


async def commands(live: LiveSystem, size: Size, memory: Memory) -> Scenario:
    """create-subscription from 32 connections as fast as the system answers."""
    scenario = Scenario("commands")
    api_load, bare_load = _loads(live, size.command_seconds, size.connections)
    warm_api, warm_bare = _loads(live, size.warmup_seconds, size.connections)
    await wrk.run(warm_api)
    await wrk.run(warm_bare)
    await live.drain()
    with memory.scenario() as rss:
        api = await wrk.run(api_load, memory)
        drained = await live.drain()
        bare = await wrk.run(bare_load, memory)
    scenario.rss_mib = rss
    scenario.add(
        Figure("throughput", api.rate, "commands/s", f"bare {bare.rate:,.0f}/s", (">=", 2000)),
        *_latency("latency", api, bare, 50),
        Figure("relay + projections caught up after load", drained, "s"),
    )
    scenario.details = {"api": api.as_dict(), "bare": bare.as_dict(), "drain_seconds": drained}
    scenario.notes.append(
        f"wrk -t2 -c{size.connections} for {size.command_seconds:g} s; wrk, the API, relay, "
        "projection worker, PostgreSQL and NATS share the machine's cores"
    )
    return scenario


async def steady(live: LiveSystem, size: Size, memory: Memory) -> Scenario:
    """create-subscription held at a fixed rate (wrk script with per-thread schedules)."""
    scenario = Scenario("steady")
    api_load, bare_load = _loads(live, size.steady_seconds, size.connections, size.steady_rate)
    await live.drain()
    with memory.scenario() as rss:
        api = await wrk.run(api_load, memory)
        drained = await live.drain()
        bare = await wrk.run(bare_load, memory)
    scenario.rss_mib = rss
    scenario.add(
        Figure("rate held", api.rate, "commands/s", f"bare {bare.rate:,.0f}/s"),
        *_latency("latency", api, bare, 25),
    )
    scenario.details = {"api": api.as_dict(), "bare": bare.as_dict(), "drain_seconds": drained}
    scenario.notes.append(
        f"target {size.steady_rate:g}/s for {size.steady_seconds:g} s over "
        f"{size.connections} connections; latency is measured from each send (no correction "
        "for coordinated omission: the schedule keeps idle connections, so sends are not held up)"
    )
    return scenario
