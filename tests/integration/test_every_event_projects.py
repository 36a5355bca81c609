"""Every event a decider accepts is stored and applies in every projection (real PostgreSQL).

Random commands (tests/strategies.py), mostly valid and reaching every edge, go through the real
handlers (load, fold, decide, reserve, append) for a fresh tenant; one catch-up of every
projection then must pass all the tenant's events without dead-lettering any.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import Metadata
from contracts.base import Command
from contracts.commands import (
    CreatePlan,
    DeactivateEntry,
    EditEntry,
    EditPlan,
    ReactivateEntry,
    RegisterEntry,
    RetirePlan,
)
from plumbing.eventlog import REACHED
from services.projections.catalog import PROJECTIONS
from services.projections.runner import Catchup
from services.subscription.domain.errors import DomainError
from services.subscription.write.eventstore import EventStore, ReservationTaken
from services.subscription.write.handlers import Context, Handlers
from tests import strategies
from tests.conftest import tenant
from tests.helpers import until

DEAD_LETTERS = """
select d.projection, e.type, e.data, d.error
from read.dead_letters d join events.events e on e.event_id = d.event_id
where e.tenant_id = $1
order by d.position
"""
LAST_POSITION = "select max(position) from events.events where tenant_id = $1"
DIRECTORY = (RegisterEntry, EditEntry, DeactivateEntry, ReactivateEntry)
PLANS = (CreatePlan, EditPlan, RetirePlan)


async def carry_out(handlers: Handlers, ctx: Context, command: object) -> bool:
    """Whether the handler took the command; a refusal is fine, any other error is not."""
    try:
        if isinstance(command, DIRECTORY):
            await handlers.directory(ctx, command)  # type: ignore[arg-type]
        elif isinstance(command, PLANS):
            await handlers.plan(ctx, command)  # type: ignore[arg-type]
        else:
            await handlers.subscription(ctx, command)  # type: ignore[arg-type]
    except (DomainError, ReservationTaken):
        return False
    return True


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(commands=st.lists(strategies.commands, min_size=1, max_size=8))
async def test_every_accepted_event_applies_in_every_projection(
    pool: asyncpg.Pool, commands: list[Command]
) -> None:
    tenant_id = tenant()
    ids: dict[UUID, UUID] = {slot: uuid4() for slot in strategies.SLOTS}
    handlers = Handlers(EventStore(pool))
    ctx = Context(tenant_id, Metadata(actor="Property Tester"))
    for command in strategies.scaffold():
        assert await carry_out(handlers, ctx, strategies.with_ids(command, ids))
    for command in commands:
        await carry_out(handlers, ctx, strategies.with_ids(command, ids))

    last = await pool.fetchval(LAST_POSITION, tenant_id)
    # Any failure at all is given up on at once, so the checkpoints pass it and it shows below.
    catchup = Catchup(pool, [cls() for cls in PROJECTIONS.values()], max_attempts=1)

    async def reached() -> bool:
        await catchup.catch_up()
        return all([await pool.fetchval(REACHED, name, last) for name in PROJECTIONS])

    await until(reached, 20, 0.02, f"projections never reached position {last}")
    dead = [dict(row) for row in await pool.fetch(DEAD_LETTERS, tenant_id)]
    assert not dead, dead
