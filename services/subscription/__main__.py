"""Command line of the subscription service: `python -m services.subscription --help`."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

import typer

from contracts.subjects import check_tenant
from plumbing import postgres
from plumbing.logs import configure
from services.subscription.access import tokens
from services.subscription.config import MIGRATIONS, get_settings

cli = typer.Typer(help="WISPGate subscription service", no_args_is_help=True)
token_cli = typer.Typer(help="API tokens: create, list, revoke", no_args_is_help=True)
cli.add_typer(token_cli, name="tokens")


@cli.command()
def setup() -> None:
    """Create the database if missing, apply migrations, create the JetStream stream."""
    from services.subscription.publishing.broker import ensure_stream

    settings = get_settings()
    configure(settings.log_level)
    applied = postgres.prepare(settings.dsn, MIGRATIONS)
    asyncio.run(
        ensure_stream(
            settings.nats_url,
            settings.namespace,
            settings.stream_max_age_days,
            settings.stream_replicas,
        )
    )
    typer.echo(f"database ready ({applied} migrations applied), stream ready")


@cli.command()
def api() -> None:
    """Serve the HTTP API (uvicorn with uvloop and httptools)."""
    import uvicorn

    from services.subscription.app import create_app

    settings = get_settings()
    configure(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@cli.command()
def relay() -> None:
    """Publish stored events to NATS JetStream (one active relay; others stand by)."""
    import uvloop

    from services.subscription.publishing import relay as relay_module

    settings = get_settings()
    configure(settings.log_level)
    uvloop.run(relay_module.run(settings))


@cli.command()
def commands() -> None:
    """Serve the importer's command batches over NATS request/reply (a queue group)."""
    import uvloop

    from services.subscription.commands import server as commands_module

    settings = get_settings()
    configure(settings.log_level)
    uvloop.run(commands_module.run(settings))


scheduler_cli = typer.Typer(
    help="The scheduler: invoices, overdue suspensions, scheduled status and plan changes",
    no_args_is_help=True,
)
cli.add_typer(scheduler_cli, name="scheduler")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """A pass every WISPGATE_SCHEDULER_INTERVAL_SECONDS on the wall clock, until stopped."""
    from plumbing.process import serve
    from services.subscription.scheduler import passes
    from services.subscription.usecases.bootstrap import bootstrap

    settings = get_settings()

    async def main(stop: asyncio.Event) -> None:
        pool = await settings.create_pool("wispgate-scheduler", settings.scheduler_concurrency + 2)
        try:
            await passes.run(
                pool,
                bootstrap(pool),
                settings.scheduler_interval_seconds,
                settings.scheduler_concurrency,
                stop,
            )
        finally:
            await pool.close()

    serve(settings.log_level, main)


@scheduler_cli.command("run-once")
def scheduler_run_once(
    now: Annotated[
        str | None, typer.Option(help="The pass's clock (ISO 8601 with its zone); default now")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="List what would be done; send nothing")] = False,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant")] = None,
) -> None:
    """One pass as of --now: what was found due and what became of it, one line each."""
    from datetime import UTC, datetime

    from services.subscription.scheduler import passes
    from services.subscription.usecases.bootstrap import bootstrap

    try:
        moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    except ValueError:
        raise typer.BadParameter("an ISO 8601 date-time, e.g. 2027-01-05T00:00:00Z") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the zone, e.g. 2027-01-05T00:00:00Z", param_hint="--now")
    settings = get_settings()
    configure(settings.log_level)

    async def once(pool):  # type: ignore[no-untyped-def]
        return await passes.run_once(
            pool,
            bootstrap(pool),
            moment,
            dry_run=dry_run,
            concurrency=settings.scheduler_concurrency,
            tenant_id=tenant,
        )

    done = _run(once, settings.scheduler_concurrency + 2, "wispgate-scheduler")
    for d in done:
        typer.echo(d.line())
    typer.echo(f"{len(done)} due at {moment.isoformat()}" + (" (dry run)" if dry_run else ""))


def _run(coro, size: int = 2, name: str = "wispgate-tokens"):  # type: ignore[no-untyped-def]
    async def wrapped():  # type: ignore[no-untyped-def]
        pool = await get_settings().create_pool(name, size)
        try:
            return await coro(pool)
        finally:
            await pool.close()

    return asyncio.run(wrapped())


@token_cli.command("create")
def create_token(
    name: Annotated[str, typer.Option(help="Person or integration, recorded as the actor")],
    tenant: Annotated[str, typer.Option(help="Tenant (ISP) id")] = "default",
    role: Annotated[str, typer.Option(help="admin or read")] = "admin",
) -> None:
    """Create a token; it is shown once."""
    if role not in ("admin", "read"):
        raise typer.BadParameter("role must be admin or read", param_hint="--role")
    try:
        check_tenant(tenant)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tenant") from None
    token, info = _run(lambda pool: tokens.create(pool, name, tenant, role))  # type: ignore[arg-type]
    typer.echo(
        f"id:     {info.id}\nname:   {info.name}\ntenant: {info.tenant_id}\nrole:   {info.role}"
    )
    typer.echo(f"token:  {token}\n(store it now: only its hash is kept)")


@token_cli.command("list")
def list_tokens(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant")] = None,
) -> None:
    """List tokens (never their secrets)."""
    for info in _run(lambda pool: tokens.list_tokens(pool, tenant)):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        typer.echo(f"{info.id}  {info.tenant_id:<16} {info.role:<6} {state:<24} {info.name}")


@token_cli.command("revoke")
def revoke_token(token_id: UUID) -> None:
    """Revoke a token by its id."""
    if not _run(lambda pool: tokens.revoke(pool, token_id)):
        typer.echo(f"no active token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id}")


if __name__ == "__main__":
    cli()
