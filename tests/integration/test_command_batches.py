"""Import command batches over NATS request/reply, against the real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import nats
import pytest

from contracts.imports import (
    BatchResult,
    CommandBatch,
    ImportedSubscription,
    RowCheck,
    RowReferences,
)
from contracts.subjects import commands_subject
from plumbing import eventlog
from services.subscription.commands.server import CommandServer
from services.subscription.config import Settings
from services.subscription.write.batches import Batches
from services.subscription.write.eventstore import EventStore, Reservation
from services.subscription.write.unique_ids import UniqueIds
from tests.conftest import ROOT
from tests.helpers import directory, until
from tests.integration.conftest import ClientFactory, new_subscription, project
from tests.integration.test_command_auth import running_job, signed


@pytest.fixture(scope="module")
async def server(settings: Settings) -> AsyncIterator[CommandServer]:
    """The `commands` process's server, in-process, on the real NATS."""
    running = CommandServer(settings)
    assert await running.start(asyncio.Event())
    yield running
    await running.stop()


def row(number: int, refs: dict[str, Any], **fields: Any) -> ImportedSubscription:
    """A resolved spreadsheet row with a key of its own."""
    values = {"name": f"Imported {number}", "status": "Active", **refs, **fields}
    return ImportedSubscription(row=number, idempotency_key=f"import:{uuid4().hex}", **values)


def text_row(number: int, **texts: str) -> ImportedSubscription:
    """A row naming its references by the text of its cells, as the importer sends it."""
    return ImportedSubscription(
        row=number,
        idempotency_key=f"import:{uuid4().hex}",
        name=f"Imported {number}",
        status="Active",
        references=RowReferences(**texts),
    )


def batch(tenant_id: str, rows: Sequence[ImportedSubscription], **fields: Any) -> CommandBatch:
    return CommandBatch(
        import_id=fields.pop("import_id", uuid4()),
        tenant_id=tenant_id,
        actor="importer-test",
        rows=list(rows),
        **fields,
    )


async def send(nc: nats.NATS, settings: Settings, request: CommandBatch | bytes) -> BatchResult:
    """The request signed as the importer signs it, for a running job of its own."""
    if isinstance(request, CommandBatch):
        await running_job(settings.dsn, request)
    data = request if isinstance(request, bytes) else request.model_dump_json().encode()
    reply = await nc.request(
        commands_subject(settings.namespace), data, timeout=30, headers=signed(data)
    )
    return BatchResult.model_validate_json(reply.data)


async def imported_events(pool: asyncpg.Pool, tenant_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "select stream_id, position, data, metadata from events.events"
        " where tenant_id = $1 and type = 'subscription.created' and metadata ? 'import_id'"
        " and metadata->>'import_id' is not null order by position",
        tenant_id,
    )


def tenant_of(api: httpx.AsyncClient) -> str:
    return str(api.tenant_id)  # type: ignore[attr-defined]


def outcomes(result: BatchResult) -> list[str]:
    return [r.outcome for r in result.results]


@pytest.mark.usefixtures("server")
async def test_a_batch_creates_its_rows_keeping_or_generating_unique_ids(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    kept = f"SUB-{900000 + int(uuid4().int % 1000):06d}"
    rows = [row(2, refs), row(3, refs, unique_id=kept), row(4, refs, organization_id=None)]
    sent = batch(tenant_of(api), rows)
    result = await send(nc, settings, sent)

    assert result.error is None and outcomes(result) == ["created"] * 3
    assert [r.row for r in result.results] == [2, 3, 4]
    assert result.results[1].unique_id == kept
    assert all(re.fullmatch(r"SUB-\d{6}", r.unique_id or "") for r in result.results)
    events = await imported_events(pool, tenant_of(api))
    assert [e["stream_id"] for e in events] == [r.subscription_id for r in result.results]
    assert result.position == max(e["position"] for e in events)
    assert {e["metadata"]["import_id"] for e in events} == {str(sent.import_id)}
    assert events[0]["metadata"]["idempotency_key"] == rows[0].idempotency_key
    assert events[1]["data"]["unique_id"] == kept
    # The sequence moved past the imported number: the API never hands it out.
    after = await new_subscription(api)
    assert str(after["unique_id"]) > kept


@pytest.mark.usefixtures("server")
async def test_the_same_rows_from_another_import_are_skipped(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    tenant_id = tenant_of(api)
    refs = await directory(api)
    rows = [row(2, refs), row(3, refs)]
    first = await send(nc, settings, batch(tenant_id, rows))
    again = await send(nc, settings, batch(tenant_id, rows))
    assert outcomes(again) == ["skipped", "skipped"] and again.position == 0
    assert [r.subscription_id for r in again.results] == [r.subscription_id for r in first.results]
    assert again.results[0].message == f"already imported as {first.results[0].unique_id}"
    assert len(await imported_events(pool, tenant_id)) == 2


@pytest.mark.usefixtures("server")
async def test_a_batch_sent_again_by_its_own_import_answers_created(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    sent = batch(tenant_of(api), [row(2, refs), row(3, refs)])
    first = await send(nc, settings, sent)
    again = await send(nc, settings, sent)
    assert outcomes(again) == ["created", "created"]
    assert again.results == first.results
    assert again.position == first.position
    assert len(await imported_events(pool, tenant_of(api))) == 2


@pytest.mark.usefixtures("server")
async def test_a_repeated_line_of_one_file_is_skipped(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    line = row(2, refs)
    repeat = line.model_copy(update={"row": 3})
    later = line.model_copy(update={"row": 9})
    import_id = uuid4()
    first = await send(nc, settings, batch(tenant_of(api), [line, repeat], import_id=import_id))
    assert outcomes(first) == ["created", "skipped"]
    assert first.results[1].message == "same as row 2"
    second = await send(nc, settings, batch(tenant_of(api), [later], import_id=import_id))
    assert outcomes(second) == ["skipped"]
    assert len(await imported_events(pool, tenant_of(api))) == 1


@pytest.mark.usefixtures("server")
async def test_failing_rows_fail_alone_and_the_others_are_created(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    existing = await new_subscription(api)
    gone = await directory(api)
    response = await api.post(f"/api/v1/contacts/{gone['contact_id']}/deactivate", json={})
    assert response.status_code == 200
    twice = f"LEGACY-{uuid4().hex[:8]}"
    rows = [
        row(2, refs),
        row(3, refs, contact_id=gone["contact_id"]),
        row(4, refs, unique_id=str(existing["unique_id"])),
        row(5, refs, unique_id=twice),
        row(6, refs, unique_id=twice),
        row(7, refs, engineer_id=refs["contact_id"]),
        row(8, refs, name="   "),
        row(9, refs),
    ]
    result = await send(nc, settings, batch(tenant_of(api), rows))

    assert outcomes(result) == [
        "created", "failed", "failed", "created", "failed", "failed", "failed", "created",
    ]  # fmt: skip
    failed = {r.row: (r.column, r.message) for r in result.results if r.outcome == "failed"}
    assert failed[3][0] == "Contact" and "deactivated" in str(failed[3][1])
    assert failed[4] == (
        "Unique ID",
        f"Unique ID {existing['unique_id']} is already taken by another subscription",
    )
    assert failed[6] == ("Unique ID", f"Unique ID {twice} is also on row 5")
    assert failed[7][0] == "Engineer" and "unknown engineer" in str(failed[7][1])
    assert failed[8][0] == "Subscription Name"
    created = [r.subscription_id for r in result.results if r.outcome == "created"]
    events = await imported_events(pool, tenant_of(api))
    assert [e["stream_id"] for e in events] == created


@pytest.mark.usefixtures("server")
async def test_a_dry_run_decides_and_appends_nothing(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    done = row(2, refs)
    await send(nc, settings, batch(tenant_of(api), [done]))
    existing = await new_subscription(api)
    rows = [
        done,
        row(3, refs),
        row(4, refs, unique_id=str(existing["unique_id"])),
        row(5, refs, unique_id="SUB-990000"),
    ]
    result = await send(nc, settings, batch(tenant_of(api), rows, dry_run=True))

    assert outcomes(result) == ["skipped", "created", "failed", "created"]
    assert result.results[1].unique_id is None and result.results[3].unique_id == "SUB-990000"
    assert result.position == 0
    assert len(await imported_events(pool, tenant_of(api))) == 1
    keys = await pool.fetchval(
        "select count(*) from events.idempotency_keys where key = any($1::text[])",
        [r.idempotency_key for r in rows],
    )
    assert keys == 1
    # Nothing moved the sequence either.
    assert str((await new_subscription(api))["unique_id"]) < "SUB-990000"


@pytest.mark.usefixtures("server")
async def test_copies_of_a_batch_racing_create_each_row_once(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    sent = batch(tenant_of(api), [row(n, refs) for n in range(2, 42)])
    results = await asyncio.gather(*(send(nc, settings, sent) for _ in range(4)))
    for result in results:
        assert result.error is None and set(outcomes(result)) == {"created"}
        assert result.results == results[0].results
    assert len(await imported_events(pool, tenant_of(api))) == 40


class _Blind(EventStore):
    """An event store whose holder check reads before another writer takes the value."""

    async def holders(
        self, tenant_id: str, values: Sequence[Reservation]
    ) -> dict[Reservation, UUID]:
        return {}


async def test_a_value_taken_after_the_check_fails_only_its_row(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    existing = await new_subscription(api)
    batches = Batches(_Blind(pool), UniqueIds(pool))
    rows = [row(2, refs), row(3, refs, unique_id=str(existing["unique_id"])), row(4, refs)]
    result = await batches.handle(batch(tenant_of(api), rows))
    assert outcomes(result) == ["created", "failed", "created"]
    assert result.results[1].column == "Unique ID"
    assert len(await imported_events(pool, tenant_of(api))) == 2


async def projected(pool: asyncpg.Pool) -> None:
    """The read side holds everything stored so far."""
    await project(pool, await eventlog.head(pool))


@pytest.mark.usefixtures("server")
async def test_references_named_by_text_resolve_by_id_email_name_number_or_title(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    await projected(pool)
    rows = [
        text_row(2, contact="JANE@example.net", organization="Acme Farms", engineer="Alice Ng",
                 service_contract="SC-1"),
        text_row(3, contact="Jane Doe", organization=refs["organization_id"],
                 engineer=f" {refs['engineer_id']} ", service_contract="Rural 50"),
    ]  # fmt: skip
    sent = batch(tenant_of(api), rows)
    result = await send(nc, settings, sent)

    assert result.error is None and outcomes(result) == ["created", "created"]
    for event in await imported_events(pool, tenant_of(api)):
        data = event["data"]
        fields = ("contact_id", "organization_id", "engineer_id", "service_contract_id")
        assert {f: data[f] for f in fields} == {f: str(refs[f]) for f in fields}
    again = await send(nc, settings, sent)
    assert again.results == result.results


@pytest.mark.usefixtures("server")
async def test_references_that_name_no_single_active_entry_fail_with_every_problem(
    api: httpx.AsyncClient,
    nc: nats.NATS,
    settings: Settings,
    pool: asyncpg.Pool,
    client_for: ClientFactory,
) -> None:
    await directory(api)
    await api.post("/api/v1/contacts", json={"name": "Jane Doe", "email": "other@example.net"})
    old = (await api.post("/api/v1/contacts", json={"name": "Old Customer"})).json()["id"]
    assert (await api.post(f"/api/v1/contacts/{old}/deactivate", json={})).status_code == 200
    foreign = await directory(await client_for())
    await projected(pool)
    rows = [
        text_row(2, contact="Jane Doe", organization="Nobody Inc", engineer="alice ng",
                 service_contract="SC-2"),
        text_row(3, contact="Old Customer", engineer=foreign["engineer_id"]),
        text_row(4, contact="jane@example.net", engineer="Alice Ng"),
    ]  # fmt: skip
    checks = [
        RowCheck(row=5, references=RowReferences(contact="Nobody", engineer="Alice Ng")),
        RowCheck(row=6, references=RowReferences(engineer="Alice Ng")),
    ]
    result = await send(nc, settings, batch(tenant_of(api), rows, checks=checks))

    assert outcomes(result) == ["failed", "failed", "created"]
    first = result.results[0]
    assert [(e.row, e.column, e.message) for e in first.errors] == [
        (2, "Contact", "Contact 'Jane Doe' matches 2 contacts: use the ID or the email or exact"
                       " name of one of them"),
        (2, "Organization", "Organization 'Nobody Inc' matches no organization by ID, email or"
                            " exact name"),
        (2, "Engineer", "Engineer 'alice ng' matches no engineer by ID, email or exact name"),
        (2, "Service Contract", "Service Contract 'SC-2' matches no service contract by ID,"
                                " number or exact title"),
    ]  # fmt: skip
    assert (first.column, first.message) == ("Contact", first.errors[0].message)
    assert [(e.column, e.message) for e in result.results[1].errors] == [
        ("Contact", "Contact 'Old Customer' is a deactivated contact"),
        ("Engineer", f"Engineer {foreign['engineer_id']!r} matches no engineer by ID, email or"
                     " exact name"),
    ]  # fmt: skip
    assert [(c.row, c.outcome, c.message) for c in result.checks] == [
        (5, "failed", "Contact 'Nobody' matches no contact by ID, email or exact name")
    ]
    only_checks = await send(nc, settings, batch(tenant_of(api), [], checks=checks))
    assert only_checks.results == [] and only_checks.checks == result.checks


@pytest.mark.usefixtures("server")
async def test_references_resolve_once_the_directory_holds_what_was_stored_before(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings, pool: asyncpg.Pool
) -> None:
    """An entry registered just before the batch is found: the read model is waited for."""
    await directory(api)

    async def project_later() -> None:
        await asyncio.sleep(0.5)
        await projected(pool)

    sent = batch(tenant_of(api), [text_row(2, contact="Jane Doe", engineer="Alice Ng")])
    result, _ = await asyncio.gather(send(nc, settings, sent), project_later())
    assert outcomes(result) == ["created"]


@pytest.mark.usefixtures("server")
async def test_a_malformed_request_is_answered_with_an_error(
    api: httpx.AsyncClient, nc: nats.NATS, settings: Settings
) -> None:
    refs = await directory(api)
    foreign = batch('x"; drop table events.events; --', [row(2, refs)])
    mine = batch(tenant_of(api), [row(2, refs)]).model_dump(mode="json")
    both = mine["rows"][0] | {"references": {"contact": "Jane Doe"}}
    for data in (
        b"not json",
        b"{}",
        b'{"import_id": "x", "rows": []}',
        foreign.model_dump_json().encode(),
        json.dumps(mine | {"rows": []}).encode(),
        json.dumps(mine | {"rows": [both]}).encode(),
    ):
        result = await send(nc, settings, data)
        assert result.error is not None and result.error.startswith("not a command batch")
        assert result.results == []
    still = await send(nc, settings, batch(tenant_of(api), [row(2, refs)]))
    assert outcomes(still) == ["created"]


async def test_the_commands_process_answers_and_stops_on_sigterm(
    api: httpx.AsyncClient, nc: nats.NATS, service_env: dict[str, str]
) -> None:
    """The real process, in a namespace of its own so the in-process server cannot answer."""
    namespace = f"c{uuid4().hex[:10]}"
    env = {**service_env, "WISPGATE_NAMESPACE": namespace}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.subscription",
        "commands",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        refs = await directory(api)
        job = batch(tenant_of(api), [row(2, refs)])
        await running_job(service_env["DATABASE_URL"], job)
        sent = job.model_dump_json().encode()
        reply = await _request_until_served(nc, commands_subject(namespace), sent)
        assert outcomes(BatchResult.model_validate_json(reply)) == ["created"]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
        output = (await process.communicate())[0].decode(errors="replace")
    assert "serving command batches" in output


async def _request_until_served(nc: nats.NATS, subject: str, data: bytes) -> bytes:
    """Ask until the process has subscribed (NATS answers "no responders" until then)."""

    async def answer() -> bytes | None:
        try:
            return (await nc.request(subject, data, timeout=30, headers=signed(data))).data
        except nats.errors.NoRespondersError:
            return None

    return await until(answer, 30, 0.1, "the process never subscribed")
