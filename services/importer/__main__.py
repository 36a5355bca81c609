"""Command line of the importer: `python -m services.importer setup|worker`."""

from __future__ import annotations

import asyncio

import typer

from plumbing import postgres
from plumbing.logs import configure

from .config import MIGRATIONS, get_settings

app = typer.Typer(help="WISPGate importer: spreadsheet imports.", no_args_is_help=True)


@app.command()
def setup() -> None:
    """Create the database if missing, apply the imports schema, create the imports stream."""
    from .stream import ensure_stream

    settings = get_settings()
    configure(settings.log_level)
    applied = postgres.prepare(settings.dsn, MIGRATIONS)
    asyncio.run(ensure_stream(settings.nats_url, settings.namespace))
    typer.echo(f"imports schema: {applied} migration(s) applied; imports stream ready")


@app.command()
def worker() -> None:
    """Run the importer worker until SIGINT or SIGTERM."""
    from plumbing.process import serve

    from .worker import run_worker

    settings = get_settings()
    serve(settings.log_level, lambda stop: run_worker(settings, stop))


if __name__ == "__main__":
    app()
