"""Projections against the real PostgreSQL: exact catch-up, late commits, rebuilds and swaps."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from contracts import Metadata
from contracts import directory as dev
from contracts import subscription as sev
from contracts.base import Event, FieldChange
from contracts.subscription import Status
from plumbing.eventlog import projection_lag, reached
from services.projections.catalog import PROJECTIONS
from services.projections.rebuild import build_shadows, drop_shadows, rebuild
from services.projections.runner import Catchup
from services.subscription.write.eventstore import EventStore, StreamAppend
from tests.conftest import tenant
from tests.helpers import until

TABLES = ("directory", "subscriptions", "subscription_refs", "history", "history_refs")
REGISTERED = {
    "contact": dev.ContactRegistered,
    "organization": dev.OrganizationRegistered,
    "engineer": dev.EngineerRegistered,
    "service_contract": dev.ServiceContractRegistered,
}
EDITED = {
    "contact": dev.ContactEdited,
    "organization": dev.OrganizationEdited,
    "engineer": dev.EngineerEdited,
    "service_contract": dev.ServiceContractEdited,
    "subscription": sev.SubscriptionEdited,
}


class Writer:
    """Appends events for one tenant through the real event store, tracking stream versions."""

    def __init__(self, pool: asyncpg.Pool, tenant_id: str) -> None:
        self.store = EventStore(pool)
        self.tenant_id = tenant_id
        self.versions: dict[UUID, int] = {}

    async def write(
        self, stream_type: str, stream_id: UUID, *events: Event, actor: str = "Ada Admin"
    ) -> int:
        version = self.versions.get(stream_id, 0)
        [appended] = await self.store.append(
            [
                StreamAppend(
                    self.tenant_id,
                    stream_id,
                    stream_type,
                    version,
                    list(events),
                    Metadata(actor=actor),
                    datetime.now(UTC),
                )
            ]
        )
        self.versions[stream_id] = version + len(events)
        return appended.position

    async def register(self, kind: str, **fields: Any) -> UUID:
        entry_id = uuid4()
        await self.write(kind, entry_id, REGISTERED[kind](**fields))
        return entry_id

    async def edit(self, kind: str, entry_id: UUID, **changes: tuple[Any, Any]) -> int:
        fields = {
            k: FieldChange(old=None if o is None else str(o), new=None if n is None else str(n))
            for k, (o, n) in changes.items()
        }
        return await self.write(kind, entry_id, EDITED[kind](changes=fields))

    async def subscribe(self, unique_id: str, name: str, **refs: Any) -> UUID:
        sid = uuid4()
        await self.write(
            "subscription",
            sid,
            sev.SubscriptionCreated(
                unique_id=unique_id, name=name, status=refs.pop("status", Status.ACTIVE), **refs
            ),
        )
        return sid


async def scenario(w: Writer) -> dict[str, UUID]:
    """A small tenant's life: registrations, subscriptions, renames, status and engineer moves."""
    ids = {
        "jane": await w.register("contact", name="Jane Doe", email="jane@example.org"),
        "john": await w.register("contact", name="John Roe"),
        "acme": await w.register("organization", name="Acme"),
        "alice": await w.register("engineer", name="Alice Ng"),
        "bob": await w.register("engineer", name="Bob Li"),
        "sc1": await w.register(
            "service_contract", number="SC-1", title="Fibre 100", starts_on=date(2026, 1, 1)
        ),
    }
    ids["s1"] = await w.subscribe(
        "SUB-000042",
        "Home fibre",
        contact_id=ids["jane"],
        organization_id=ids["acme"],
        engineer_id=ids["alice"],
        service_contract_id=ids["sc1"],
    )
    ids["s2"] = await w.subscribe(
        "SUB-000043",
        "Office",
        contact_id=ids["john"],
        engineer_id=ids["bob"],
        status=Status.INACTIVE,
    )
    ids["s3"] = await w.subscribe(
        "LEGACY-7", "Legacy", contact_id=ids["john"], engineer_id=ids["alice"]
    )
    await w.write(
        "subscription",
        ids["s1"],
        sev.SubscriptionStatusChanged(
            from_status=Status.ACTIVE, to_status=Status.SUSPENDED, reason="unpaid invoice"
        ),
        actor="Sam Support",
    )
    await w.write(
        "subscription",
        ids["s1"],
        sev.SubscriptionEngineerAssigned(from_engineer_id=ids["alice"], to_engineer_id=ids["bob"]),
    )
    await w.edit("contact", ids["jane"], name=("Jane Doe", "Jane Smith"))
    await w.edit("service_contract", ids["sc1"], title=("Fibre 100", "Fibre 200"))
    await w.edit(
        "subscription",
        ids["s2"],
        name=("Office", "Office 2"),
        organization_id=(None, ids["acme"]),
        contact_id=(ids["john"], ids["jane"]),
    )
    await w.write("engineer", ids["alice"], dev.EngineerDeactivated(reason="left the company"))
    await w.edit("contact", ids["john"], email=(None, "john@example.org"))
    return ids


async def insert_raw(conn: asyncpg.Connection, tenant_id: str, event_type: str, data: str) -> int:
    """An event written straight into the store, as a future or broken writer might."""
    return await conn.fetchval(
        "insert into events.events (tenant_id, stream_id, stream_type, version, event_id, type,"
        " data, metadata) values ($1, $2, $3, 1, $4, $5, $6::text::jsonb,"
        ' \'{"actor": "test"}\') returning position',
        tenant_id,
        uuid4(),
        event_type.split(".")[0],
        uuid4(),
        event_type,
        data,
    )


def live(pool: asyncpg.Pool, batch_size: int = 5000) -> Catchup:
    """A catch-up engine on the live tables, like the worker's."""
    return Catchup(pool, [cls() for cls in PROJECTIONS.values()], batch_size=batch_size)


async def caught_up(pool: asyncpg.Pool) -> bool:
    """Every projection has applied every committed event."""
    return all(behind == 0 for behind, _ in (await projection_lag(pool)).values())


async def catch_up(catchup: Catchup, pool: asyncpg.Pool) -> None:
    """Run passes until everything is applied (another session may hold the horizon back)."""

    async def step() -> bool:
        await catchup.run_pass()
        return await caught_up(pool)

    await until(step)


async def horizon_passed(pool: asyncpg.Pool) -> bool:
    """No transaction that could still add events below the last one is running."""
    return await pool.fetchval(
        "select coalesce(max(txid) < pg_snapshot_xmin(pg_current_snapshot()), true)"
        " from events.events"
    )


async def differences(pool: asyncpg.Pool) -> dict[str, int]:
    """Rows that differ between each live table and its shadow (both directions)."""
    found = {}
    for table in TABLES:
        live_t, shadow_t = f"read.{table}", f"read.{table}_shadow"
        found[table] = await pool.fetchval(
            f"select count(*) from ((table {live_t} except all table {shadow_t})"
            f" union all (table {shadow_t} except all table {live_t})) d"
        )
    return found


async def assert_equals_rebuild(pool: asyncpg.Pool) -> None:
    """The live read models are, row for row, what a rebuild from position 0 gives."""
    await until(lambda: caught_up(pool))
    await until(lambda: horizon_passed(pool))
    await build_shadows(pool)
    try:
        assert await differences(pool) == dict.fromkeys(TABLES, 0)
    finally:
        await drop_shadows(pool)


async def tenant_rows(pool: asyncpg.Pool, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every read-model row of one tenant, in a stable order."""
    return {
        table: [
            dict(r)
            for r in await pool.fetch(
                f"select * from read.{table} where tenant_id = $1 order by 2, 3", tenant_id
            )
        ]
        for table in TABLES
    }


async def test_catch_up_builds_the_rows_and_equals_a_rebuild(pool: asyncpg.Pool) -> None:
    t = tenant()
    w = Writer(pool, t)
    ids = await scenario(w)
    odd = 'Tab\there "quoted" back\\slash\nnew line, \\N'  # what COPY's text format escapes
    ids["odd"] = await w.register("contact", name=odd)
    ids["s4"] = await w.subscribe("SUB-7", odd, contact_id=ids["odd"], engineer_id=ids["bob"])
    async with pool.acquire() as conn:
        await insert_raw(conn, t, "subscription.teleported", '{"to": "mars"}')  # not known yet
    # Small batches: renames and subscriptions land in different transactions than a rebuild's.
    await catch_up(live(pool, batch_size=4), pool)

    directory = {
        r["id"]: r for r in await pool.fetch("select * from read.directory where tenant_id=$1", t)
    }
    assert directory[ids["jane"]]["name"] == "Jane Smith"
    assert directory[ids["jane"]]["email"] == "jane@example.org"
    assert directory[ids["jane"]]["version"] == 2
    assert directory[ids["jane"]]["created_at"] < directory[ids["jane"]]["updated_at"]
    assert directory[ids["alice"]]["active"] is False
    contract = directory[ids["sc1"]]
    assert (contract["name"], contract["number"], contract["title"]) == (
        "Fibre 200",
        "SC-1",
        "Fibre 200",
    )
    assert contract["starts_on"] == date(2026, 1, 1)

    subs = {
        r["id"]: r
        for r in await pool.fetch("select * from read.subscriptions where tenant_id=$1", t)
    }
    s1, s2, s3 = subs[ids["s1"]], subs[ids["s2"]], subs[ids["s3"]]
    assert s1["status"] == "Suspended" and s1["version"] == 3
    assert (s1["contact_name"], s1["organization_name"], s1["engineer_name"]) == (
        "Jane Smith",
        "Acme",
        "Bob Li",
    )
    assert (s1["service_contract_number"], s1["service_contract_title"]) == ("SC-1", "Fibre 200")
    assert s1["unique_number"] == 42 and s1["notification_level"] == "Now"
    assert "jane smith" in s1["search"] and "sub-000042" in s1["search"]
    assert (s2["name"], s2["contact_name"], s2["organization_name"]) == (
        "Office 2",
        "Jane Smith",
        "Acme",
    )
    assert (s3["unique_number"], s3["engineer_name"]) == (0, "Alice Ng")
    assert (subs[ids["s4"]]["name"], subs[ids["s4"]]["contact_name"]) == (odd, odd)

    history = await pool.fetch(
        "select stream_id, summary, actor from read.history where tenant_id=$1 order by position",
        t,
    )
    by_stream: dict[UUID, list[str]] = {}
    for row in history:
        by_stream.setdefault(row["stream_id"], []).append(row["summary"])
    assert by_stream[ids["s1"]] == [
        "Subscription SUB-000042 created (Active)",
        "Status changed from Active to Suspended: unpaid invoice",
        "Engineer changed from Alice Ng to Bob Li",
    ]
    assert by_stream[ids["s2"]][-1] == (
        'Name changed from "Office" to "Office 2"; Contact changed from John Roe to Jane Smith;'
        " Organization set to Acme"
    )
    assert by_stream[ids["jane"]] == [
        "Contact registered: Jane Doe",
        'Name changed from "Jane Doe" to "Jane Smith"',
    ]
    assert by_stream[ids["sc1"]][0] == "Service contract registered: SC-1 (Fibre 100)"
    assert by_stream[ids["alice"]][-1] == "Engineer deactivated: left the company"
    assert by_stream[ids["john"]][-1] == 'Email set to "john@example.org"'
    assert by_stream[ids["odd"]] == [f"Contact registered: {odd}"]
    assert {r["actor"] for r in history} == {"Ada Admin", "Sam Support"}
    assert len(history) == sum(w.versions.values())  # the unknown type has no row yet

    await assert_equals_rebuild(pool)


async def test_reopened_and_reactivated_fold_live_as_in_a_rebuild(pool: asyncpg.Pool) -> None:
    t = tenant()
    w = Writer(pool, t)
    ids = await scenario(w)
    await w.write(
        "subscription",
        ids["s2"],
        sev.SubscriptionStatusChanged(from_status=Status.INACTIVE, to_status=Status.CANCELLED),
    )
    await w.write(
        "subscription",
        ids["s2"],
        sev.SubscriptionReopened(from_status=Status.CANCELLED, reason="cancelled by mistake"),
    )
    await w.write("engineer", ids["alice"], dev.EngineerReactivated(reason="back from leave"))
    await catch_up(live(pool, batch_size=3), pool)

    s2 = await pool.fetchrow(
        "select status, version from read.subscriptions where tenant_id = $1 and id = $2",
        t,
        ids["s2"],
    )
    assert (s2["status"], s2["version"]) == ("Inactive", 4)
    alice = await pool.fetchrow(
        "select active, version from read.directory where tenant_id = $1 and id = $2",
        t,
        ids["alice"],
    )
    assert (alice["active"], alice["version"]) == (True, 3)
    summaries = await pool.fetch(
        "select summary from read.history where tenant_id = $1 and stream_id = any($2::uuid[])"
        " order by position",
        t,
        [ids["s2"], ids["alice"]],
    )
    assert [r["summary"] for r in summaries][-2:] == [
        "Reopened from Cancelled to Inactive: cancelled by mistake",
        "Engineer reactivated: back from leave",
    ]
    await assert_equals_rebuild(pool)


async def test_an_event_committed_late_with_a_lower_position_is_applied(
    pool: asyncpg.Pool, database_url: str
) -> None:
    t = tenant()
    w = Writer(pool, t)
    catchup = live(pool)
    await catchup.run_pass()
    slow = await asyncpg.connect(database_url)
    try:
        tx = slow.transaction()
        await tx.start()
        late = await insert_raw(slow, t, "contact.registered", '{"name": "Late Larry"}')
        early = [await w.register("contact", name=f"Early {i}") for i in range(3)]
        await catchup.run_pass()
        names = "select name from read.directory where tenant_id = $1"
        # Nothing after the open transaction's events may be applied before they are decided.
        assert await pool.fetch(names, t) == []
        last = await pool.fetchval("select max(position) from events.events")
        assert late < last and not await reached(pool, "directory", last)
        await tx.commit()
    finally:
        await slow.close()
    await catch_up(catchup, pool)
    found = {r["name"] for r in await pool.fetch(names, t)}
    assert found == {"Late Larry", "Early 0", "Early 1", "Early 2"}
    assert len(early) == 3 and await reached(pool, "directory", last)
    await assert_equals_rebuild(pool)


async def test_rebuild_swaps_in_while_the_list_keeps_answering(pool: asyncpg.Pool) -> None:
    t = tenant()
    w = Writer(pool, t)
    ids = await scenario(w)
    for i in range(150):
        await w.subscribe(f"SUB-{i + 1000:06d}", f"Bulk {i}", contact_id=ids["john"],
                          engineer_id=ids["bob"])  # fmt: skip
    worker = live(pool, batch_size=50)
    await catch_up(worker, pool)
    indexes = (
        "select indexname from pg_indexes where schemaname = 'read' union all"
        " select conname from pg_constraint where connamespace = 'read'::regnamespace order by 1"
    )
    names_before = [r[0] for r in await pool.fetch(indexes)]
    count = "select count(*) from read.subscriptions where tenant_id = $1"
    listing = (
        "select id, name, contact_name from read.subscriptions where tenant_id = $1"
        " and search like '%bulk%' order by created_at, id limit 50"
    )
    floor = await pool.fetchval(count, t)
    stop = asyncio.Event()
    seen: list[int] = []

    async def lister() -> None:
        while not stop.is_set():
            seen.append(await pool.fetchval(count, t))
            assert len(await pool.fetch(listing, t)) == 50
            await asyncio.sleep(0)

    async def writer_and_worker() -> None:
        # New subscriptions keep arriving and the live worker keeps applying them.
        for i in range(30):
            await w.subscribe(f"SUB-{i + 5000:06d}", f"New {i}", contact_id=ids["jane"],
                              engineer_id=ids["bob"])  # fmt: skip
            await worker.run_pass()

    listing_task = asyncio.create_task(lister())
    try:
        for _ in range(2):  # a second rebuild starts from the names the first one left
            await asyncio.gather(rebuild(pool, batch_size=40), writer_and_worker())
    finally:
        stop.set()
        await listing_task
    assert seen and min(seen) >= floor
    assert seen == sorted(seen)  # the list never shrank
    await catch_up(worker, pool)
    assert await pool.fetchval(count, t) == floor + 60
    assert [r[0] for r in await pool.fetch(indexes)] == names_before
    assert not await pool.fetchval(
        "select count(*) from pg_tables where schemaname = 'read' and tablename like '%_shadow'"
    )
    await assert_equals_rebuild(pool)


async def test_rebuild_of_one_projection_leaves_the_others(pool: asyncpg.Pool) -> None:
    t = tenant()
    await scenario(Writer(pool, t))
    await catch_up(live(pool), pool)
    before = await tenant_rows(pool, t)
    reached_positions = await rebuild(pool, ["history"])
    assert list(reached_positions) == ["history"]
    assert await tenant_rows(pool, t) == before
