"""Commands over HTTP: flat out from 32 connections, and held at a fixed 1,000 per second.

The load comes from wrk on the same two cores as the servers. The yardstick is the bare
endpoint of bench/yardstick.py under the same load, in the same run.

Both scenarios also report the CPU per create: the CPU seconds every process of the system
spent (API, relay, projection worker, `commands`, importer worker, the PostgreSQL backends
serving them, and the server's shared processes) from the start of the load until the relay and
every projection caught up with it, divided by the successful requests wrk counted; beside the
bare endpoint's (yardstick-api, its backends, the shared processes) over its own load.
"""

from __future__ import annotations

from typing import Any

from .. import wrk
from ..live import LiveSystem
from ..memory import PG_PREFIX, PG_SHARED, Memory
from ..report import Figure, Scenario
from ..sizes import Size

PATH = "/api/v1/subscriptions"
# The goals.
THROUGHPUT_RATIO = 0.5  # creates/s of the API over the bare endpoint's, 32 connections
COMMANDS_P99_MS = 50.0
STEADY_P99_MS = 25.0
STEADY_HELD = 0.97  # "held": at least this share of the target rate, and no error
CPU_PER_CREATE_MS = 1.2
# The processes of the system that serve a create (what `make run` starts).
SYSTEM = ("api", "relay", "projections", "commands", "importer")
BARE = ("yardstick-api",)
# Backends not tied to one client: counted for whichever load ran meanwhile.
PG_ANY = ("postgres (autovacuum)", "postgres (unattributed)")
PG_BACKENDS = "postgres"  # the figure's name for the backends serving the processes


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
    ]


def cpu_per_request(spent: dict[str, float], processes: tuple[str, ...], requests: int):
    """ms of CPU per request: {process: ms, "postgres": ms, PG_SHARED: ms} of one load, with
    {"postgres": {client: ms}} apart: the backends of each process (and PG_ANY's)."""
    per = 1000 / max(1, requests)
    mine = {f"postgres ({p})" for p in processes} | set(PG_ANY)
    out: dict[str, float] = {p: spent[p] * per for p in processes if p in spent}
    order = [f"postgres ({p})" for p in processes] + sorted(mine)
    found = sorted((k for k in spent if k in mine), key=order.index)
    backends = {k[len(PG_PREFIX) : -1]: spent[k] * per for k in found}
    out[PG_BACKENDS] = sum(backends.values())
    out[PG_SHARED] = spent.get(PG_SHARED, 0.0) * per
    return out, backends


def cpu_figures(
    api_cpu: dict[str, float], api: wrk.Outcome, bare_cpu: dict[str, float], bare: wrk.Outcome
) -> tuple[list[Figure], dict[str, Any]]:
    """CPU per create: all processes together (goal) and per process, beside the bare one's."""
    ours, our_backends = cpu_per_request(api_cpu, SYSTEM, api.successes)
    theirs, _ = cpu_per_request(bare_cpu, BARE, bare.successes)
    total, bare_total = sum(ours.values()), sum(theirs.values())
    parts = ", ".join(f"{k} {v:.2f}" for k, v in theirs.items())
    figures = [
        Figure("CPU per create, all processes", total, "ms",
               f"bare {bare_total:.2f} ms ({parts})", ("<=", CPU_PER_CREATE_MS)),
    ]  # fmt: skip
    for name, ms in ours.items():
        if name == PG_BACKENDS:
            clients = ", ".join(f"{k} {v:.2f}" for k, v in our_backends.items() if v >= 0.005)
            text = f"of {clients}; bare's {theirs[PG_BACKENDS]:.2f} ms"
        elif name == PG_SHARED:
            text = f"bare's {theirs[PG_SHARED]:.2f} ms"
        else:
            text = ""
        figures.append(Figure(f"CPU per create: {name}", ms, "ms", text))
    if not any(k.startswith(PG_PREFIX) and k != PG_SHARED for k in api_cpu):
        # A server in a container or on another machine: its processes are not ours to see.
        figures[0].yardstick += "; PostgreSQL's processes not visible here: not counted"
    details = {
        "cpu_per_create_ms": {k: round(v, 4) for k, v in ours.items()},
        "cpu_per_create_postgres_by_client_ms": {k: round(v, 4) for k, v in our_backends.items()},
        "bare_cpu_per_request_ms": {k: round(v, 4) for k, v in theirs.items()},
        "cpu_seconds_api_load": api_cpu,
        "cpu_seconds_bare_load": bare_cpu,
        "divisors": {"api_successes": api.successes, "bare_successes": bare.successes},
    }
    return figures, details


async def _measure(live: LiveSystem, memory: Memory, api_load: wrk.Load, bare_load: wrk.Load):
    """The API's load until the system caught up with it, then the bare one's; CPU of each."""
    with memory.scenario() as rss:
        with memory.cpu_window() as api_cpu:
            api = await wrk.run(api_load, memory)
            drained = await live.drain()
        with memory.cpu_window() as bare_cpu:
            bare = await wrk.run(bare_load, memory)
    return rss, api, drained, api_cpu, bare, bare_cpu


async def commands(live: LiveSystem, size: Size, memory: Memory) -> Scenario:
    """create-subscription from 32 connections as fast as the system answers."""
    scenario = Scenario("commands")
    api_load, bare_load = _loads(live, size.command_seconds, size.connections)
    warm_api, warm_bare = _loads(live, size.warmup_seconds, size.connections)
    await wrk.run(warm_api)
    await wrk.run(warm_bare)
    await live.drain()
    rss, api, drained, api_cpu, bare, bare_cpu = await _measure(live, memory, api_load, bare_load)
    scenario.rss_mib = rss
    cpu, cpu_details = cpu_figures(api_cpu, api, bare_cpu, bare)
    scenario.add(
        Figure(
            "throughput vs bare",
            api.rate / bare.rate if bare.rate else 0.0,
            "x bare",
            f"{api.rate:,.0f}/s; bare {bare.rate:,.0f}/s",
            (">=", THROUGHPUT_RATIO),
        ),
        *_latency("latency", api, bare, COMMANDS_P99_MS),
        Figure("errors", api.errors, "", f"bare {bare.errors}"),
        *cpu,
        Figure("relay + projections caught up after load", drained, "s"),
    )
    scenario.details = {
        "api": api.as_dict(),
        "bare": bare.as_dict(),
        "drain_seconds": drained,
        **cpu_details,
    }
    scenario.notes.append(
        f"wrk -t2 -c{size.connections} for {size.command_seconds:g} s; wrk, the API, relay, "
        "projection worker, PostgreSQL and NATS share the machine's cores; CPU per create: "
        "every process's CPU seconds from the load's start until relay and projections caught "
        "up, over the successful requests (PostgreSQL: the backends of the run's database, "
        "by client; shared: postmaster, checkpointer, background and WAL writer)"
    )
    return scenario


async def steady(live: LiveSystem, size: Size, memory: Memory) -> Scenario:
    """create-subscription held at a fixed rate (wrk script with per-thread schedules)."""
    scenario = Scenario("steady")
    api_load, bare_load = _loads(live, size.steady_seconds, size.connections, size.steady_rate)
    await live.drain()
    rss, api, drained, api_cpu, bare, bare_cpu = await _measure(live, memory, api_load, bare_load)
    scenario.rss_mib = rss
    cpu, cpu_details = cpu_figures(api_cpu, api, bare_cpu, bare)
    held = STEADY_HELD * size.steady_rate
    scenario.add(
        Figure(
            "rate held",
            api.rate,
            "commands/s",
            f"bare {bare.rate:,.0f}/s; target {size.steady_rate:,.0f}/s",
            (">=", held),
        ),
        *_latency("latency", api, bare, STEADY_P99_MS),
        Figure("errors", api.errors, "", f"bare {bare.errors}", ("<=", 0)),
        *cpu,
    )
    scenario.details = {
        "api": api.as_dict(),
        "bare": bare.as_dict(),
        "drain_seconds": drained,
        **cpu_details,
    }
    scenario.notes.append(
        f"target {size.steady_rate:g}/s for {size.steady_seconds:g} s over "
        f"{size.connections} connections (held: at least {STEADY_HELD:.0%} of it, no error); "
        "latency is measured from each send (no correction for coordinated omission: the "
        "schedule keeps idle connections, so sends are not held up); CPU per create as in "
        "`commands`"
    )
    return scenario
