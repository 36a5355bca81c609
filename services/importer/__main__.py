"""Command line of the importer: `python -m services.importer setup|worker`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import typer

from plumbing import postgres
from plumbing.logs import configure

from .config import MIGRATIONS, Settings, get_settings

app = typer.Typer(help="WISPGate importer: spreadsheet imports.", no_args_is_help=True)


@app.command()
def setup() -> None:
    """Create the database if missing, apply the imports schema (and its quotas), create the
    imports stream."""
    from .retention import publish_quotas
    from .stream import ensure_stream

    settings = get_settings()
    configure(settings.log_level)
    applied = postgres.prepare(settings.dsn, MIGRATIONS)
    asyncio.run(_with_pool(settings, publish_quotas))
    asyncio.run(ensure_stream(settings.nats_url, settings.namespace, settings.stream_replicas))
    typer.echo(f"imports schema: {applied} migration(s) applied; imports stream ready")


@app.command()
def prune() -> None:
    """Delete the files and error reports past their retention now (the worker does it hourly)."""
    from .retention import prune as pruned

    settings = get_settings()
    configure(settings.log_level)

    async def run(pool: asyncpg.Pool, settings: Settings) -> None:
        done = await pruned(pool, settings.file_retention_days, settings.report_retention_days)
        if done is None:
            typer.echo("another worker is pruning; nothing done")
        else:
            typer.echo(f"deleted {done.files} file(s) and {done.reports} report(s)")

    asyncio.run(_with_pool(settings, run))


@app.command()
def worker() -> None:
    """Run the importer worker until SIGINT or SIGTERM."""
    from plumbing.process import serve

    from .worker import run_worker

    settings = get_settings()
    serve(settings.log_level, lambda stop: run_worker(settings, stop))


async def _with_pool(
    settings: Settings, work: Callable[[asyncpg.Pool, Settings], Awaitable[None]]
) -> None:
    pool = await settings.create_pool("wispgate-importer-cli", 2)
    try:
        await work(pool, settings)
    finally:
        await pool.close()


if __name__ == "__main__":
    app()
