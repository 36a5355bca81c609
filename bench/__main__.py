"""`python -m bench [--size quick|full] [--only SCENARIO ...]`: run the benchmark suite.

Prints a table (every figure beside its yardstick and goal) and writes JSON to bench/results/.
A full run of every scenario also rewrites bench/RESULTS.md. Exit status 1 when a scenario
failed (a missed goal is a figure, not a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from .live import LiveSystem
from .memory import Memory
from .report import Run, Scenario
from .runtime import World
from .scenarios.append import append
from .scenarios.commands import commands, steady
from .scenarios.data import DataSystem, rebuild
from .scenarios.exports import exports
from .scenarios.freshness import freshness
from .scenarios.imports import imports
from .scenarios.inner import InnerSystem, inner
from .scenarios.reads import reads
from .sizes import SIZES, Size

log = logging.getLogger("bench")

HERE = Path(__file__).resolve().parent
# Scenarios sharing one system each, run in this order (the import last on the live system: its
# events are still being published and projected when it ends).
LIVE = {"commands": commands, "steady": steady, "freshness": freshness, "import": imports}
DATA = {"rebuild": rebuild, "reads": reads, "export": exports}
SCENARIOS = (*LIVE, "append", *DATA, "inner")
# Everything after this line of RESULTS.md is written by hand and kept by every full run.
KEEP = "<!-- analysis: kept by python -m bench -->"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, metavar="SCENARIO",
                        help=f"run only these ({', '.join(SCENARIOS)})")  # fmt: skip
    parser.add_argument("--results", type=Path, default=HERE / "results",
                        help="folder of the JSON results and process logs")  # fmt: skip
    return parser.parse_args(argv)


async def run(size: Size, chosen: list[str], results: Path) -> Run:
    """Every chosen scenario, in an order that needs each system once; always cleans up."""
    world = World(
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        os.environ.get("NATS_URL", DEFAULT_NATS_URL),
    )
    report = Run(size.name, datetime.now(UTC), namespace=world.namespace)
    logs = results / f"{report.started:%Y%m%dT%H%M%SZ}-{size.name}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    memory = Memory(databases=lambda: world.databases)
    live = LiveSystem(world, logs, memory)
    data = DataSystem(world, logs, memory)
    inner_system = InnerSystem(world, logs, memory)
    started = time.perf_counter()
    try:
        live_chosen = [name for name in LIVE if name in chosen]
        if live_chosen:
            try:
                await live.start()
            except Exception as exc:
                traceback.print_exc()
                for name in live_chosen:
                    report.scenarios.append(Scenario(name, error=f"system did not start: {exc}"))
            else:
                for name in live_chosen:
                    scenario = LIVE[name]
                    await _scenario(report, memory, name, lambda s=scenario: s(live, size, memory))
            live.stop()
        if "append" in chosen:
            if not live_chosen:
                await asyncio.to_thread(world.setup, live.dsn, logs)
            await _scenario(report, memory, "append", lambda: append(live.dsn, size, memory))
        for name, scenario in DATA.items():
            if name in chosen:
                await _scenario(report, memory, name, lambda s=scenario: s(data, size, memory))
        data.stop()
        if "inner" in chosen:
            await _scenario(report, memory, "inner", lambda: inner(inner_system, size, memory))
    finally:
        live.stop()
        data.stop()
        inner_system.stop()
        await world.drop()
        report.databases = list(world.databases)
        report.seconds = time.perf_counter() - started
    return report


async def _scenario(
    report: Run, memory: Memory, name: str, body: Callable[[], Awaitable[Scenario]]
) -> None:
    print(f"-- {name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        scenario = await body()
    except Exception as exc:
        traceback.print_exc()
        scenario = Scenario(name, error=f"{type(exc).__name__}: {exc}")
    scenario.seconds = time.perf_counter() - started
    if not scenario.error:
        scenario.cpu_seconds = dict(sorted(memory.cpu_seconds.items()))
        scenario.machine_busy_cores = memory.machine_busy_cores
    report.scenarios.append(scenario)


def write_results_md(report: Run, path: Path) -> None:
    """bench/RESULTS.md: the latest full run's table and date; the analysis below KEEP stays."""
    notes = [f"- **{s.name}**: {note}" for s in report.scenarios for note in s.notes]
    kept = ""
    if path.exists() and KEEP in (text := path.read_text()):
        kept = text[text.index(KEEP) :]
    path.write_text(
        f"# Benchmark results\n\nLatest full run: {report.started:%Y-%m-%d %H:%M} UTC, "
        f"`make bench` (`python -m bench --size full`), {report.seconds:.0f} s, on "
        f"{os.cpu_count()} cores shared by the load generator, the services, PostgreSQL and "
        f"NATS.\n\n{report.markdown()}\n\n" + "\n".join(notes) + "\n\n" + (kept or KEEP + "\n")
    )


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    size, chosen = SIZES[args.size], list(args.only or SCENARIOS)

    async def guarded() -> Run:
        # SIGTERM cancels the run like Ctrl-C, so the databases and the stream are dropped.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run(size, chosen, args.results)

    report = asyncio.run(guarded())
    print(report.table())
    path = report.save(args.results)
    print(f"\nresults: {path}")
    if size.name == "full" and chosen == list(SCENARIOS):
        write_results_md(report, HERE / "RESULTS.md")
        print(f"table: {HERE / 'RESULTS.md'}")
    return 1 if any(s.error for s in report.scenarios) else 0


if __name__ == "__main__":
    sys.exit(main())
