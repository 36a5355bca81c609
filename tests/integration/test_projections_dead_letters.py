"""Failures classified: data errors dead-lettered at once, database errors retried, replays."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from uuid import UUID

import asyncpg
from asyncpg.exceptions import ConnectionDoesNotExistError

from plumbing.eventlog import StoredEvent
from plumbing.redelivery import Backoff
from services.projections import deadletters
from services.projections.catalog import PROJECTIONS
from services.projections.history import HistoryProjection
from services.projections.replay import replay
from services.projections.runner import Catchup
from services.projections.subscriptions import SubscriptionsProjection
from tests.conftest import ROOT, tenant
from tests.helpers import until
from tests.integration.test_projections import (
    Writer,
    assert_equals_rebuild,
    caught_up,
    tenant_rows,
)
from tests.integration.test_projections_worker import _broken_status_change

LETTERS = "select projection, attempts, error from read.dead_letters where event_id = $1"
# Far longer than any test: a retry in the way would show as a test that does not finish.
NO_RETRY_SOON = Backoff(3600.0, 3600.0)


async def _settled(pool: asyncpg.Pool) -> None:
    """Every projection at the horizon, so a test's passes see its own events only."""
    everyone = Catchup(pool, [cls() for cls in PROJECTIONS.values()], backoff=Backoff(0.01, 0.01))

    async def past() -> bool:
        await everyone.catch_up()
        return await caught_up(pool)

    await until(past)


async def test_a_data_error_of_one_tenant_is_dead_lettered_at_once_and_others_go_on(
    pool: asyncpg.Pool,
) -> None:
    await _settled(pool)
    a, b = Writer(pool, tenant()), Writer(pool, tenant())
    contact = await a.register("contact", name="Ann Poison")
    engineer = await a.register("engineer", name="Eve Engineer")
    first = await a.subscribe("SUB-000001", "First", contact_id=contact, engineer_id=engineer)
    poison = await _broken_status_change(pool, a, first)
    b_contact = await b.register("contact", name="Bob Bystander")
    b_engineer = await b.register("engineer", name="Ed Engineer")
    b_sub = await b.subscribe("SUB-000001", "Bs", contact_id=b_contact, engineer_id=b_engineer)

    # One pass, retries an hour away: nothing may wait for one.
    catchup = Catchup(pool, [cls() for cls in PROJECTIONS.values()], backoff=NO_RETRY_SOON)
    await catchup.catch_up()

    rows = await pool.fetch(LETTERS, poison)
    handling = {n for n, p in PROJECTIONS.items() if "subscription.status_changed" in p.handles}
    assert {r["projection"] for r in rows} == handling
    assert {r["attempts"] for r in rows} == {1}
    assert all("to_status" in r["error"] for r in rows)
    assert await caught_up(pool)
    subscriptions = (await tenant_rows(pool, b.tenant_id))["subscriptions"]
    assert [s["id"] for s in subscriptions] == [b_sub]
    assert all(t.failure is None for t in catchup.tracks)
    await assert_equals_rebuild(pool)


class Flaky(SubscriptionsProjection):
    """Loses its connection once, on the first batch holding one tenant's events."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.failed = 0

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        if not self.failed and any(e.tenant_id == self.tenant_id for e in events):
            self.failed += 1
            raise ConnectionDoesNotExistError("connection was closed in the middle of operation")
        await super().apply(conn, events)


async def test_a_database_error_is_retried_and_never_dead_lettered(pool: asyncpg.Pool) -> None:
    await _settled(pool)
    w = Writer(pool, tenant())
    contact = await w.register("contact", name="Flo Flaky")
    engineer = await w.register("engineer", name="Eve Engineer")
    sub = await w.subscribe("SUB-000001", "First", contact_id=contact, engineer_id=engineer)
    flaky = Flaky(w.tenant_id)
    catchup = Catchup(pool, [flaky], max_attempts=1, backoff=Backoff(0.01, 0.01))

    try:
        await catchup.catch_up()
    except ConnectionDoesNotExistError:
        pass  # the pass paused on it; the worker tries again later
    else:
        raise AssertionError("the pass hid a database error")
    assert flaky.failed == 1
    await catchup.catch_up()

    subscriptions = (await tenant_rows(pool, w.tenant_id))["subscriptions"]
    assert [s["id"] for s in subscriptions] == [sub]
    events = await pool.fetch(
        "select event_id from events.events where tenant_id = $1", w.tenant_id
    )
    dead = await pool.fetchval(
        "select count(*) from read.dead_letters where event_id = any($1)",
        [r["event_id"] for r in events],
    )
    assert dead == 0


class Buggy(HistoryProjection):
    """A history with a bug on one event: the code fixed later is HistoryProjection itself."""

    def __init__(self, event_id: UUID) -> None:
        super().__init__()
        self.event_id = event_id

    async def apply(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        if any(e.event_id == self.event_id for e in events):
            raise OverflowError("date value out of range")
        await super().apply(conn, events)


async def test_dead_letters_are_listed_and_replayed_once_fixed(
    pool: asyncpg.Pool, service_env: dict[str, str]
) -> None:
    await _settled(pool)
    w = Writer(pool, tenant())
    contact = await w.register("contact", name="Rita Replay")
    engineer = await w.register("engineer", name="Eve Engineer")
    sub = await w.subscribe("SUB-000001", "First", contact_id=contact, engineer_id=engineer)
    created = await pool.fetchval(
        "select event_id from events.events where stream_id = $1 and version = 1", sub
    )
    broken = await _broken_status_change(pool, w, sub)
    catchup = Catchup(pool, [Buggy(created)], backoff=NO_RETRY_SOON)
    await catchup.catch_up()
    await _settled(pool)

    [letter] = await deadletters.listing(pool, "history", created)
    assert (letter.tenant_id, letter.type, letter.attempts) == (
        w.tenant_id,
        "subscription.created",
        1,
    )
    assert letter.error == "OverflowError: date value out of range"
    listed = await _cli(service_env, "dead-letters", "list", "--projection", "history")
    assert f"{created}\t{letter.position}\thistory\t{w.tenant_id}\tsubscription.created" in listed

    # The fixed code applies the first; the broken status change fails again and stays.
    outcome = await replay(pool, "history")
    mine = {r.event_id: r.error for r in outcome if r.event_id in {created, broken}}
    assert mine[created] is None
    assert "to_status" in (mine[broken] or "")
    assert not await deadletters.listing(pool, "history", created)
    [kept] = await deadletters.listing(pool, "history", broken)
    assert kept.attempts == 2 and "to_status" in kept.error
    assert await pool.fetchval("select count(*) from read.history where event_id = $1", created)
    await assert_equals_rebuild(pool)

    await _cli(service_env, "dead-letters", "replay", "--event", str(broken), expect=1)
    handling = {n for n, p in PROJECTIONS.items() if "subscription.status_changed" in p.handles}
    still = await pool.fetch(LETTERS, broken)  # still failing, in every projection
    assert {r["projection"] for r in still} == handling
    assert {r["attempts"] for r in still} == {2, 3}  # history was replayed twice


async def _cli(env: dict[str, str], *args: str, expect: int = 0) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.projections",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == expect, err.decode()
    return out.decode()
