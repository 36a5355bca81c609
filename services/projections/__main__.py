"""Command line of the projections: `python -m services.projections setup|worker|rebuild|status`."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Annotated

import typer

from .config import get_settings

app = typer.Typer(
    help="WISPGate read models: migrations, the worker, rebuilds.", no_args_is_help=True
)


def _logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


@app.command()
def setup() -> None:
    """Apply the read schema's migrations."""
    from .db import migrate

    _logging()
    applied = migrate(get_settings().dsn)
    typer.echo(f"read schema: {applied} migration(s) applied")


@app.command()
def worker() -> None:
    """Run the projection worker until SIGINT or SIGTERM."""
    from .worker import run_worker

    _logging()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(get_settings(), stop)

    asyncio.run(main())


@app.command()
def rebuild(
    projection: Annotated[
        list[str] | None, typer.Option("--projection", "-p", help="Only this one (repeatable)")
    ] = None,
) -> None:
    """Rebuild read models from position 0 into shadow tables and swap them in."""
    from .db import create_pool
    from .rebuild import rebuild as run_rebuild

    _logging()
    settings = get_settings()

    async def main() -> dict[str, int]:
        pool = await create_pool(settings.dsn, 6)
        try:
            return await run_rebuild(pool, projection, settings.batch_size)
        finally:
            await pool.close()

    for name, position in asyncio.run(main()).items():
        typer.echo(f"{name}: rebuilt up to position {position}")


@app.command()
def status() -> None:
    """Print each projection's lag and dead-letter count as JSON."""
    from .db import create_pool
    from .lag import dead_letter_counts, projection_lag

    async def main() -> dict[str, dict[str, float]]:
        pool = await create_pool(get_settings().dsn, 2)
        try:
            lag, dead = await projection_lag(pool), await dead_letter_counts(pool)
        finally:
            await pool.close()
        return {
            name: {"behind": behind, "oldest_age_seconds": age, "dead_letters": dead.get(name, 0)}
            for name, (behind, age) in lag.items()
        }

    typer.echo(json.dumps(asyncio.run(main()), indent=2))


if __name__ == "__main__":
    app()
