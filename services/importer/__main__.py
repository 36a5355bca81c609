"""Command line of the importer: `python -m services.importer setup`."""

from __future__ import annotations

import asyncio

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


if __name__ == "__main__":
    app()
