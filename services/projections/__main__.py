"""Command line of the projections: `python -m services.projections setup|worker|rebuild|status`."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated

import typer

from plumbing.logs import configure

from .config import MIGRATIONS, get_settings

app = typer.Typer(
    help="WISPGate read models: migrations, the worker, rebuilds.", no_args_is_help=True
)


@app.command()
def setup() -> None:
    """Apply the read schema's migrations."""
    from plumbing.postgres import migrate

    configure(get_settings().log_level)
    applied = migrate(get_settings().dsn, MIGRATIONS)
    typer.echo(f"read schema: {applied} migration(s) applied")


@app.command()
def worker() -> None:
    """Run the projection worker until SIGINT or SIGTERM (on uvloop, as the API and relay)."""
    from plumbing.process import run_until_signal

    from .worker import run_worker

    settings = get_settings()
    configure(settings.log_level)
    run_until_signal(lambda stop: run_worker(settings, stop))


@app.command()
def rebuild(
    projection: Annotated[
        list[str] | None, typer.Option("--projection", "-p", help="Only this one (repeatable)")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Projections rebuilt at once, in processes")
    ] = 0,
) -> None:
    """Rebuild read models from position 0 into shadow tables and swap them in."""
    from .rebuild import rebuild_in_processes

    settings = get_settings()
    configure(settings.log_level)
    jobs = jobs or (os.cpu_count() or 1)
    reached = rebuild_in_processes(settings.dsn, projection, settings.batch_size, jobs)
    for name, position in reached.items():
        typer.echo(f"{name}: rebuilt up to position {position}")


@app.command()
def status() -> None:
    """Print each projection's lag and dead-letter count as JSON."""
    from plumbing.eventlog import projection_lag

    from . import deadletters

    async def main() -> dict[str, dict[str, float]]:
        pool = await get_settings().create_pool("wispgate-projections-status", 2)
        try:
            lag, dead = await projection_lag(pool), await deadletters.counts(pool)
        finally:
            await pool.close()
        return {
            name: {"behind": behind, "oldest_age_seconds": age, "dead_letters": dead.get(name, 0)}
            for name, (behind, age) in lag.items()
        }

    typer.echo(json.dumps(asyncio.run(main()), indent=2))


if __name__ == "__main__":
    app()
