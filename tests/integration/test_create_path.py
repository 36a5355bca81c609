"""A create's write path: one statement when this process already read the directory entries it
names and holds unique IDs; what it remembered is checked in that statement, against other
processes' writes."""

from __future__ import annotations

from uuid import uuid4

import asyncpg
import pytest

from contracts import Metadata
from contracts.commands import CreateSubscription
from services.subscription.domain.errors import InvalidReference
from services.subscription.usecases.bootstrap import UseCases, bootstrap
from services.subscription.usecases.calls import Call, now
from services.subscription.usecases.inputs import (
    DeactivateIn,
    EngineerIn,
    PartyIn,
    SubscriptionIn,
)
from services.subscription.write.eventstore import EventStore
from services.subscription.write.handlers import Context, Handlers
from services.subscription.write.unique_ids import UniqueIds
from tests.conftest import tenant
from tests.helpers import open_pool


async def _directory(uc: UseCases, call: Call) -> SubscriptionIn:
    contact = await uc.directory.register(call, "contact", PartyIn(name="Jane"))
    engineer = await uc.directory.register(call, "engineer", EngineerIn(name="Alice"))
    return SubscriptionIn(
        contact_id=contact.body["id"],
        engineer_id=engineer.body["id"],
        name="Home",
        status="Active",
    )


async def test_a_create_is_one_statement_once_its_entries_were_read(database_url: str) -> None:
    async with open_pool(database_url, size=1) as pool:
        uc, call = bootstrap(pool), Call(actor="test", tenant_id=tenant())
        data = await _directory(uc, call)
        for _ in range(4):  # fills the process's block of unique IDs
            await uc.subscriptions.create(call, data)
        statements: list[str] = []
        async with pool.acquire() as conn:  # the pool's one connection
            conn.add_query_logger(lambda query: statements.append(query.query))
        keyed = Call(actor="test", tenant_id=call.tenant_id, idempotency_key="k")
        await uc.subscriptions.create(call, data)
        await uc.subscriptions.create(keyed, data)
        assert len(statements) == 2, statements


async def test_an_entry_another_process_changed_is_read_again(pool: asyncpg.Pool) -> None:
    mine, theirs, call = bootstrap(pool), bootstrap(pool), Call(actor="test", tenant_id=tenant())
    data = await _directory(mine, call)
    await mine.subscriptions.create(call, data)
    await theirs.directory.edit(call, "contact", data.contact_id, PartyIn(name="Jane Roe"))
    edited = await mine.subscriptions.create(call, data)
    assert edited.kind == "created"
    await theirs.directory.deactivate(call, "engineer", data.engineer_id, DeactivateIn())
    with pytest.raises(InvalidReference) as refused:
        await mine.subscriptions.create(call, data)
    assert refused.value.pointer == "/engineer_id"


async def test_a_held_unique_id_imported_meanwhile_is_skipped(pool: asyncpg.Pool) -> None:
    uc, call = bootstrap(pool), Call(actor="test", tenant_id=tenant())
    data = await _directory(uc, call)
    first = await uc.subscriptions.create(call, data)
    second = await uc.subscriptions.create(call, data)  # takes 2, holds 3
    assert (first.body["unique_id"], second.body["unique_id"]) == ("SUB-000001", "SUB-000002")
    # Another process imports SUB-000003, as the command batches do.
    imported = CreateSubscription(
        subscription_id=uuid4(), unique_id="SUB-000003", now=now(), **data.model_dump()
    )
    ctx = Context(tenant_id=call.tenant_id, metadata=Metadata(actor="import"))
    await UniqueIds(pool).move_past(call.tenant_id, "SUB-000003")
    await Handlers(EventStore(pool)).subscription(ctx, imported)
    third = await uc.subscriptions.create(call, data)
    assert third.body["unique_id"] == "SUB-000004"


async def test_a_refused_or_repeated_create_uses_up_no_unique_id(pool: asyncpg.Pool) -> None:
    uc, t = bootstrap(pool), tenant()
    data = await _directory(uc, Call(actor="test", tenant_id=t))
    call = Call(actor="test", tenant_id=t, idempotency_key="once", request_hash="h")
    first = await uc.subscriptions.create(call, data)
    again = await uc.subscriptions.create(call, data)
    assert again.replayed and again.body == first.body
    unknown = data.model_copy(update={"contact_id": uuid4()})
    with pytest.raises(InvalidReference):
        await uc.subscriptions.create(Call(actor="test", tenant_id=t), unknown)
    second = await uc.subscriptions.create(Call(actor="test", tenant_id=t), data)
    assert (first.body["unique_id"], second.body["unique_id"]) == ("SUB-000001", "SUB-000002")


async def test_a_repeat_refused_by_what_happened_since_gets_the_first_answer(
    pool: asyncpg.Pool,
) -> None:
    uc, t = bootstrap(pool), tenant()
    data = await _directory(uc, Call(actor="test", tenant_id=t))
    call = Call(actor="test", tenant_id=t, idempotency_key="once", request_hash="h")
    first = await uc.subscriptions.create(call, data)
    plain = Call(actor="test", tenant_id=t)
    await uc.directory.deactivate(plain, "contact", data.contact_id, DeactivateIn())
    again = await uc.subscriptions.create(call, data)
    assert again.replayed and again.body == first.body
