"""Command line of the projections: `python -m services.projections setup|worker|rebuild|status`,
`radius` (FreeRADIUS on the radius read model) and `dead-letters list|replay`."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated
from uuid import UUID

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
    from plumbing.process import serve

    from .worker import run_worker

    settings = get_settings()
    serve(settings.log_level, lambda stop: run_worker(settings, stop))


@app.command()
def radius() -> None:
    """Run FreeRADIUS on the radius read model in the foreground (deploy/freeradius), again
    when it exits or the NAS registry changes; without FreeRADIUS, wait (`make run` goes on)."""
    from plumbing.process import serve

    from .freeradius import RadiusSettings, installed
    from .supervisor import supervise

    settings = RadiusSettings()
    configure(settings.log_level)
    binary = installed(settings)
    if binary is None:
        serve(settings.log_level, idle)
        return
    serve(settings.log_level, lambda stop: supervise(settings, binary, stop))


async def idle(stop: asyncio.Event) -> None:
    """Wait for SIGINT or SIGTERM."""
    await stop.wait()


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


letters = typer.Typer(help="Events a projection gave up on: list them, replay them once fixed.")
app.add_typer(letters, name="dead-letters")

ProjectionOption = Annotated[str | None, typer.Option("--projection", "-p", help="Only this one")]


@letters.command("list")
def list_dead_letters(projection: ProjectionOption = None) -> None:
    """Print the dead letters, oldest event first, one per line, tab-separated."""
    from . import deadletters

    async def main() -> list[deadletters.DeadLetter]:
        pool = await get_settings().create_pool("wispgate-projections-dead-letters", 2)
        try:
            return await deadletters.listing(pool, projection)
        finally:
            await pool.close()

    rows = asyncio.run(main())
    typer.echo("event_id\tposition\tprojection\ttenant\ttype\treason\twhen")
    for d in rows:
        when = d.created_at.isoformat(timespec="seconds")
        fields = [d.event_id, d.position, d.projection, d.tenant_id, d.type, d.error, when]
        typer.echo("\t".join(" ".join(str(f).split()) for f in fields))
    typer.echo(f"{len(rows)} dead letter(s)", err=True)


@letters.command("replay")
def replay_dead_letters(
    projection: ProjectionOption = None,
    event: Annotated[UUID | None, typer.Option("--event", "-e", help="Only this event")] = None,
) -> None:
    """Apply dead letters again, by rebuilding their projections; exit 1 if any still fails."""
    from plumbing.postgres import create_pool

    from .replay import Replayed, replay

    settings = get_settings()
    configure(settings.log_level)

    async def main() -> list[Replayed]:
        # No statement timeout: like a rebuild, the swap may take a while.
        name = "wispgate-projections-replay"
        pool = await create_pool(settings.dsn, name, 6, statement_timeout=0)
        try:
            return await replay(pool, projection, event, settings.batch_size)
        finally:
            await pool.close()

    outcome = asyncio.run(main())
    for r in outcome:
        typer.echo(f"{r.projection}\t{r.event_id}\t" + ("applied" if r.error is None else r.error))
    typer.echo(f"{len(outcome)} dead letter(s) replayed", err=True)
    if any(r.error is not None for r in outcome):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
