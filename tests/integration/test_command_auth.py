"""The internal command channel is authenticated: only batches the importer signed are acted on,
and only for the tenant and actor of the import job the API stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import nats
import pytest

from contracts.imports import (
    DEV_COMMANDS_SECRET,
    SIGNATURE_HEADER,
    BatchResult,
    CommandBatch,
    ImportedSubscription,
    batch_signature,
)
from contracts.subjects import commands_subject
from services.subscription.commands.server import CommandServer
from services.subscription.config import Settings
from services.subscription.read import imports
from tests.helpers import directory
from tests.integration.conftest import ClientFactory

ACTOR = "importer-test"


async def running_job(dsn: str, batch: CommandBatch, state: str = "running") -> None:
    """The batch's import job as the API stores it (`imports.submit`), then claimed by the
    importer (moved to `running`) unless another state is asked for. Once per import."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            imports.SUBMIT, batch.import_id, batch.tenant_id, batch.actor, "x.xlsx",
            batch.dry_run, b"PK",
        )  # fmt: skip
        await conn.execute("update imports.jobs set state = $2 where id = $1", batch.import_id,
                           state)  # fmt: skip
    except asyncpg.UniqueViolationError:
        pass  # stored by an earlier batch of the import
    finally:
        await conn.close()


def signed(body: bytes, secret: str = DEV_COMMANDS_SECRET) -> dict[str, str]:
    """The importer's signature header of a request body."""
    return {SIGNATURE_HEADER: batch_signature(secret, body)}


async def request(
    nc: nats.NATS, settings: Settings, body: bytes, headers: dict[str, str] | None
) -> BatchResult:
    reply = await nc.request(commands_subject(settings.namespace), body, timeout=30,
                             headers=headers)  # fmt: skip
    return BatchResult.model_validate_json(reply.data)


@pytest.fixture(scope="module")
async def server(settings: Settings) -> AsyncIterator[CommandServer]:
    """The `commands` process's server, in-process, on the real NATS."""
    running = CommandServer(settings)
    assert await running.start(asyncio.Event())
    yield running
    await running.stop()


def tenant_of(api: httpx.AsyncClient) -> str:
    return str(api.tenant_id)  # type: ignore[attr-defined]


def batch(tenant_id: str, refs: dict[str, Any], **fields: Any) -> CommandBatch:
    row = ImportedSubscription(
        row=2, idempotency_key=f"import:{uuid4().hex}", name="Imported", status="Active", **refs
    )
    return CommandBatch(
        import_id=fields.pop("import_id", uuid4()),
        tenant_id=tenant_id,
        actor=fields.pop("actor", ACTOR),
        rows=[row],
        **fields,
    )


async def created(pool: asyncpg.Pool, *tenants: str) -> int:
    """Subscriptions stored in these tenants, and idempotency keys anywhere of imported rows."""
    return int(
        await pool.fetchval(
            "select count(*) from events.events"
            " where tenant_id = any($1::text[]) and type = 'subscription.created'",
            list(tenants),
        )
    )


@pytest.mark.usefixtures("server")
async def test_unsigned_or_wrongly_signed_batches_are_refused_and_create_nothing(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    sent = batch(tenant_of(api), await directory(api))
    await running_job(settings.dsn, sent)
    body = sent.model_dump_json().encode()
    other = sent.model_copy(update={"dry_run": True}).model_dump_json().encode()
    for headers, problem in (
        (None, f"no {SIGNATURE_HEADER} header"),
        ({SIGNATURE_HEADER: ""}, f"no {SIGNATURE_HEADER} header"),
        (signed(body, "not-the-importers-secret"), "does not match"),
        (signed(other), "does not match"),  # a signature of another body
        ({SIGNATURE_HEADER: "é" * 64}, "does not match"),
    ):
        result = await request(nc, settings, body, headers)
        assert result.error is not None and result.error.startswith("refused:"), headers
        assert problem in result.error and result.results == []
    assert await created(pool, tenant_of(api)) == 0
    # The same body, signed by the importer, is acted on.
    accepted = await request(nc, settings, body, signed(body))
    assert accepted.error is None and [r.outcome for r in accepted.results] == ["created"]
    assert await created(pool, tenant_of(api)) == 1


@pytest.mark.usefixtures("server")
async def test_a_signed_batch_naming_another_tenant_actor_or_mode_than_its_job_is_refused(
    api: httpx.AsyncClient,
    nc: nats.NATS,
    settings: Settings,
    pool: asyncpg.Pool,
    client_for: ClientFactory,
) -> None:
    victim = await client_for()
    refs = await directory(victim)
    job = batch(tenant_of(api), refs)
    await running_job(settings.dsn, job)
    for forged in (
        job.model_copy(update={"tenant_id": tenant_of(victim)}),
        job.model_copy(update={"actor": "someone-else"}),
        job.model_copy(update={"dry_run": True}),
    ):
        body = forged.model_dump_json().encode()
        result = await request(nc, settings, body, signed(body))
        assert result.error is not None and result.error.startswith("refused:")
        assert f"differ from import {job.import_id}'s" in result.error
    assert await created(pool, tenant_of(api), tenant_of(victim)) == 0


@pytest.mark.usefixtures("server")
async def test_a_batch_of_an_unknown_or_not_running_import_is_refused(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    unknown = batch(tenant_of(api), refs)
    body = unknown.model_dump_json().encode()
    result = await request(nc, settings, body, signed(body))
    assert result.error == f"refused: import {unknown.import_id} is unknown"
    for state in ("queued", "completed", "failed"):
        sent = batch(tenant_of(api), refs)
        await running_job(settings.dsn, sent, state)
        body = sent.model_dump_json().encode()
        result = await request(nc, settings, body, signed(body))
        assert result.error == f"refused: import {sent.import_id} is {state}, not running"
    assert await created(pool, tenant_of(api)) == 0


@pytest.mark.usefixtures("server")
async def test_the_jobs_batches_after_the_first_are_checked_against_the_kept_job(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    """A job is read once for several batches, and still refuses another tenant's."""
    refs = await directory(api)
    first = batch(tenant_of(api), refs)
    await running_job(settings.dsn, first)
    for sent in (first, batch(tenant_of(api), refs, import_id=first.import_id)):
        body = sent.model_dump_json().encode()
        result = await request(nc, settings, body, signed(body))
        assert [r.outcome for r in result.results] == ["created"]
    forged = batch("t-elsewhere", refs, import_id=first.import_id)
    body = forged.model_dump_json().encode()
    result = await request(nc, settings, body, signed(body))
    assert result.error is not None and "tenant_id differ" in result.error
    assert await created(pool, tenant_of(api)) == 2


def test_the_commands_process_needs_a_secret_of_its_own_in_production(
    settings: Settings,
) -> None:
    production = settings.model_copy(update={"env": "production"})
    with pytest.raises(ValueError, match="WISPGATE_COMMANDS_SECRET"):
        CommandServer(production)
    short = Settings(
        database_url=settings.database_url, env="production", WISPGATE_COMMANDS_SECRET="short"
    )
    with pytest.raises(ValueError, match="WISPGATE_COMMANDS_SECRET"):
        CommandServer(short)
    own = Settings(
        database_url=settings.database_url,
        env="production",
        WISPGATE_COMMANDS_SECRET="a" * 32,
    )
    assert CommandServer(own).secret == "a" * 32
