"""Command line of the projections: `python -m services.projections setup|worker|rebuild|status`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from typing import Annotated

import typer

from .config import get_settings

app = typer.Typer(
    help="WISPGate read models: migrations, the worker, rebuilds.", no_args_is_help=True
)


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _Fields(logging.Formatter):
    """The usual line, then the structured `extra` fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        return line + "".join(f" {k}={v}" for k, v in fields.items())


def _logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_Fields("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=get_settings().log_level.upper(), handlers=[handler])


@app.command()
def setup() -> None:
    """Apply the read schema's migrations."""
    from .db import migrate

    _logging()
    applied = migrate(get_settings().dsn)
    typer.echo(f"read schema: {applied} migration(s) applied")


@app.command()
def worker() -> None:
    """Run the projection worker until SIGINT or SIGTERM (on uvloop, as the API and relay)."""
    import uvloop

    from .worker import run_worker

    _logging()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(get_settings(), stop)

    uvloop.run(main())


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

    _logging()
    settings = get_settings()
    jobs = jobs or (os.cpu_count() or 1)
    reached = rebuild_in_processes(settings.dsn, projection, settings.batch_size, jobs)
    for name, position in reached.items():
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
