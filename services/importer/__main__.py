"""Command line of the importer: `python -m services.importer setup|worker`."""

from __future__ import annotations

import asyncio
import signal

import typer

from .config import get_settings
from .logs import configure

app = typer.Typer(help="WISPGate importer: spreadsheet imports.", no_args_is_help=True)


@app.command()
def setup() -> None:
    """Create the database if missing, apply the imports schema, create the imports stream."""
    from . import db
    from .stream import ensure_stream

    settings = get_settings()
    configure(settings.log_level)
    asyncio.run(db.ensure_database(settings.dsn))
    applied = db.migrate(settings.dsn)
    asyncio.run(ensure_stream(str(settings.nats_url), settings.namespace))
    typer.echo(f"imports schema: {applied} migration(s) applied; imports stream ready")


@app.command()
def worker() -> None:
    """Run the importer worker until SIGINT or SIGTERM."""
    import uvloop

    from .worker import run_worker

    settings = get_settings()
    configure(settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    uvloop.run(main())


if __name__ == "__main__":
    app()
