"""SIGKILL the relay and the projection worker under load: nothing is lost or applied twice."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

import asyncpg
import httpx
import nats
import pytest

from contracts.subjects import events_stream, tenant_events
from plumbing.eventlog import REACHED
from services.projections.catalog import PROJECTIONS
from tests.conftest import ROOT
from tests.e2e.conftest import System
from tests.helpers import directory, until

READ_TABLES = {
    "read.directory": "tenant_id, id",
    "read.subscription_refs": "tenant_id, id",
    "read.subscriptions": "tenant_id, id",
    "read.history": "tenant_id, stream_id, version",
    "read.subscription_statuses": "tenant_id, id",
    "read.services": "tenant_id, id",
    "read.devices": "tenant_id, id",
    "read.payments": "tenant_id, id",
    "read.touchpoints": "tenant_id, id",
}
TAIL = "select coalesce(max(position), 0) from events.events"
PAID_AT = "2026-11-01T09:00:00Z"


async def _load(http: httpx.AsyncClient, refs: dict[str, str], stop: asyncio.Event) -> int:
    """Create subscriptions and move their status until told to stop; count the commands."""
    sent = 0
    created: list[str] = []
    while not stop.is_set():
        roll = random.random()
        if created and roll < 0.3:
            status = random.choice(["Active", "Inactive", "Suspended"])
            url = f"/api/v1/subscriptions/{random.choice(created)}/status"
            response = await http.post(url, json={"status": status})
        elif created and roll < 0.5:
            url = f"/api/v1/subscriptions/{random.choice(created)}/services"
            service = {"plan": "p", "download_max_mbps": 10, "upload_max_mbps": 2}
            response = await http.post(url, json=service)
        elif created and roll < 0.6:
            url = f"/api/v1/subscriptions/{random.choice(created)}/payments"
            payment = {"amount": "10", "currency": "USD", "method": "cash", "paid_at": PAID_AT}
            response = await http.post(url, json=payment)
        else:
            body = {**refs, "name": f"load {sent}", "status": "Active"}
            response = await http.post("/api/v1/subscriptions", json=body)
            if response.status_code == 201:
                created.append(response.json()["id"])
        assert response.status_code in (200, 201), response.text
        sent += 1
    return sent


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple]]:
    tables = {}
    for table, key in READ_TABLES.items():
        rows = await pool.fetch(f"select * from {table} order by {key}")
        tables[table] = [tuple(row.values()) for row in rows]
    return tables


async def _caught_up(pool: asyncpg.Pool, deadline: float = 60) -> None:
    """Every projection holds every stored event."""
    tail = await pool.fetchval(TAIL)
    end = time.monotonic() + deadline
    for name in PROJECTIONS:
        await until(
            lambda name=name: pool.fetchval(REACHED, name, tail),
            max(0.0, end - time.monotonic()),
            failing=f"projection {name} never reached position {tail}",
        )


async def _published_ids(nats_url: str, namespace: str, tenant_id: str, expected: int) -> set[str]:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(
            tenant_events(namespace, tenant_id),
            stream=events_stream(namespace),
            ordered_consumer=True,
        )
        seen: set[str] = set()
        end = time.monotonic() + 60
        while len(seen) < expected and time.monotonic() < end:
            try:
                message = await sub.next_msg(timeout=2)
            except nats.errors.TimeoutError:
                continue
            seen.add(json.loads(message.data)["event_id"])
        await sub.unsubscribe()
        return seen
    finally:
        await nc.close()


@pytest.mark.slow
async def test_sigkill_relay_and_projections_under_load(
    system: System,
    http: httpx.AsyncClient,
    pool: asyncpg.Pool,
    nats_url: str,
    namespace: str,
    tenant_id: str,
    service_env: dict[str, str],
) -> None:
    refs = await directory(
        http,
        contact_id={"name": "Load Contact"},
        engineer_id={"name": "Load Engineer"},
        organization_id=None,
        service_contract_id=None,
    )
    stop = asyncio.Event()
    workers = [asyncio.create_task(_load(http, refs, stop)) for _ in range(4)]
    try:
        for _ in range(4):
            await asyncio.sleep(random.uniform(0.3, 0.8))  # let load build up between kills
            system.restart("relay")
            await asyncio.sleep(random.uniform(0.1, 0.5))
            system.restart("projections")
    finally:
        stop.set()
        sent = sum(await asyncio.gather(*workers))
    assert sent > 50

    await _caught_up(pool)
    stored = {
        str(r["event_id"])
        for r in await pool.fetch(
            "select event_id from events.events where tenant_id = $1", tenant_id
        )
    }
    published = await _published_ids(nats_url, namespace, tenant_id, len(stored))
    assert stored == published

    live = await _snapshot(pool)
    rebuild = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.projections", "rebuild", env=system.env, cwd=ROOT
    )
    assert await asyncio.wait_for(rebuild.wait(), 300) == 0
    rebuilt = await _snapshot(pool)
    for table in READ_TABLES:
        assert live[table] == rebuilt[table], f"{table} differs from a rebuild"
