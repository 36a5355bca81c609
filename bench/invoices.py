"""Issuing the invoices of N subscriptions billed on the same day: one scheduler pass.

`python -m bench.invoices --subscriptions 100000 [--concurrency 8]` creates a database of its
own on DATABASE_URL's server (dropped at the end), COPYs a directory and N Active subscriptions
each with billing set (monthly, 30.00 USD, billed on day 1) into the event store, builds the
account read model by the projections' rebuild, then times `scheduler.passes.run_once` as of
the 1st of a month (N invoices, each an IssueInvoice command with its idempotency key through
the use cases, as the scheduler process sends them), the account projection catching up with
the N invoices, and an idle pass after (nothing due: the cost of looking). Figures on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg

from bench.dataset import CHUNK, COLUMNS, Dataset, Rows, new_uuid
from bench.runtime import World
from contracts.inner import BillingSet
from contracts.subscription import Status, SubscriptionCreated
from plumbing.postgres import create_pool
from services.projections.catalog import PROJECTIONS
from services.projections.rebuild import rebuild
from services.projections.runner import Catchup
from services.subscription.config import get_settings
from services.subscription.scheduler import passes
from services.subscription.usecases.bootstrap import bootstrap

TENANT = "bench-invoices"
BILLED_AT = datetime(2026, 6, 1, tzinfo=UTC)
DUE = datetime(2027, 1, 1, tzinfo=UTC)
BILLING = BillingSet(plan="Home 30", price=Decimal("30.00"), currency="USD", cycle="monthly",
                     billing_day=1)  # fmt: skip
COUNT_INVOICES = "select count(*) from events.events where type = 'subscription.invoice_issued'"


def subscription_rows(rows: Rows, first: int, count: int) -> list[tuple]:
    """Each subscription created, then its billing set (version 2)."""
    made: list[tuple] = []
    for number in range(first, first + count):
        contact_id, name = rows.rng.choice(rows.d.contacts)
        stream_id = new_uuid(rows.rng)
        created = SubscriptionCreated(
            unique_id=f"SUB-{number:07d}", name=name, contact_id=contact_id,
            engineer_id=rows.rng.choice(rows.d.engineers), status=Status.ACTIVE,
        )  # fmt: skip
        made.append(rows.row("subscription", stream_id, created, BILLED_AT))
        made.append(rows.row("subscription", stream_id, BILLING, BILLED_AT, version=2))
    return made


async def load(dsn: str, subscriptions: int) -> None:
    rows = Rows(Dataset(TENANT, subscriptions), random.Random(7))
    conn = await asyncpg.connect(dsn)
    try:
        chunks = [rows.directory()]
        for first in range(1, subscriptions + 1, CHUNK // 2):
            chunks.append(
                subscription_rows(rows, first, min(CHUNK // 2, subscriptions + 1 - first))
            )
        for chunk in chunks:
            await conn.copy_records_to_table(
                "events", schema_name="events", records=chunk, columns=COLUMNS
            )
    finally:
        await conn.close()


async def measure(dsn: str, subscriptions: int, concurrency: int) -> None:
    started = time.perf_counter()
    await load(dsn, subscriptions)
    loaded = time.perf_counter()
    pool = await create_pool(dsn, "wispgate-bench-invoices", concurrency + 4, statement_timeout=0)
    try:
        await rebuild(pool, ["account"])
        built = time.perf_counter()
        print(f"loaded {subscriptions:,} billed subscriptions in {loaded - started:.1f} s, "
              f"account read model rebuilt in {built - loaded:.1f} s")  # fmt: skip
        cases = bootstrap(pool)
        begun = time.perf_counter()
        done = await passes.run_once(pool, cases, DUE, concurrency=concurrency)
        issued = time.perf_counter() - begun
        changed = sum(d.outcome == "changed" for d in done)
        assert changed == subscriptions == await pool.fetchval(COUNT_INVOICES), changed
        print(f"pass issuing {changed:,} invoices (concurrency {concurrency}): {issued:.1f} s, "
              f"{changed / issued:,.0f} invoices/s")  # fmt: skip
        catchup = Catchup(pool, [PROJECTIONS["account"]()])
        begun = time.perf_counter()
        await catchup.catch_up()
        print(f"account projection caught up with them: {time.perf_counter() - begun:.1f} s")
        begun = time.perf_counter()
        idle = await passes.run_once(pool, cases, DUE, concurrency=concurrency)
        print(f"a pass after (nothing due: {len(idle)}): {time.perf_counter() - begun:.2f} s")
    finally:
        await pool.close()


async def main(subscriptions: int, concurrency: int) -> None:
    settings = get_settings()
    world = World(settings.dsn, settings.nats_url)
    dsn = world.dsn("invoices")
    try:
        with tempfile.TemporaryDirectory() as logs:
            await asyncio.to_thread(world.setup, dsn, Path(logs))
        await measure(dsn, subscriptions, concurrency)
    finally:
        await world.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.subscriptions, args.concurrency)))
