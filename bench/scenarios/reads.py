"""Reads at scale: list queries of the API over the loaded tenant, one connection each.

Every query is first checked once (200, items present) and then repeated by wrk (-c1) for the
size's seconds. Yardstick: GET /healthz of the same API process, the HTTP floor.
"""

from __future__ import annotations

from urllib.parse import urlencode

import asyncpg
import httpx

from services.subscription.read.queries import encode_cursor

from .. import wrk
from ..memory import Memory
from ..report import Figure, Scenario
from ..runtime import admin_token
from ..sizes import Size
from .data import DataSystem

PATH = "/api/v1/subscriptions"
DEEP_ROW = """
select created_at, id from read.subscriptions where tenant_id = $1
order by created_at desc, id desc offset $2 limit 1
"""
# Whether the planner had statistics of the list table when it was queried (a fresh rebuild
# swaps in tables that neither ANALYZE nor autovacuum has seen yet).
ANALYZED = """
select coalesce(last_analyze, last_autoanalyze) is not null from pg_stat_user_tables
where schemaname = 'read' and relname = 'subscriptions'
"""
SORTS = ("created_at", "-updated_at", "name", "-name", "unique_id", "status")


async def reads(data: DataSystem, size: Size, memory: Memory) -> Scenario:
    scenario = Scenario("reads")
    loaded = await data.prepare(size)
    if not data.rebuilt:
        await data.rebuild()
    data.processes.start("api")
    base = f"http://127.0.0.1:{data.port}"
    await data.processes.wait_http(f"{base}/readyz")
    token = await admin_token(data.dsn, loaded.tenant_id)
    queries = await _queries(data, loaded)
    results: dict[str, dict] = {}
    with memory.scenario() as rss:
        floor = await wrk.run(wrk.Load(base + "/healthz", 1, size.read_seconds), memory)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
            for name, (params, goal) in queries.items():
                url = f"{base}{PATH}?{urlencode(params, doseq=True)}"
                answer = await http.get(url, timeout=30)
                if answer.status_code != 200 or not answer.json()["items"]:
                    raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:200]}")
                load = wrk.Load(url, 1, size.read_seconds, token=token)
                outcome = await wrk.run(load, memory)
                results[name] = {
                    **outcome.as_dict(),
                    "items": len(answer.json()["items"]),
                    "params": params,
                }
                scenario.add(
                    Figure(
                        f"{name} p99",
                        outcome.p99_ms,
                        "ms",
                        f"p50 {outcome.p50_ms:.1f} ms; /healthz p99 {floor.p99_ms:.2f} ms",
                        ("<=", goal),
                    )
                )
    data.processes.stop("api")
    scenario.rss_mib = rss
    scenario.details = {
        "healthz": floor.as_dict(),
        "queries": results,
        "table_analyzed_before_reads": data.analyzed,
    }
    if not data.analyzed:
        scenario.notes.append(
            "read.subscriptions had no planner statistics yet (not analyzed since the rebuild)"
        )
    scenario.notes.append(
        f"{loaded.subscriptions:,} subscriptions in one tenant; page size 50; wrk -c1 for "
        f"{size.read_seconds:g} s per query"
    )
    return scenario


async def _queries(data: DataSystem, loaded) -> dict[str, tuple[dict, float]]:
    """Query name -> (parameters, p99 goal in ms)."""
    conn = await asyncpg.connect(data.dsn)
    try:
        deep = await conn.fetchrow(DEEP_ROW, loaded.tenant_id, loaded.subscriptions // 2)
        data.analyzed = bool(await conn.fetchval(ANALYZED))
    finally:
        await conn.close()
    contact_id, contact_name = loaded.contacts[len(loaded.contacts) // 2]
    middle = loaded.subscriptions // 2
    queries: dict[str, tuple[dict, float]] = {
        "first page": ({}, 20),
        "deep page (middle)": ({"cursor": encode_cursor(deep["created_at"], deep["id"])}, 20),
        "filter status=Suspended": ({"status": "Suspended"}, 20),
        "filter status=Active,Inactive": ({"status": ["Active", "Inactive"]}, 20),
        "filter engineer_id": ({"engineer_id": str(loaded.engineers[7])}, 20),
        "filter organization_id": ({"organization_id": str(loaded.organizations[3])}, 20),
        "filter contact_id": ({"contact_id": str(contact_id)}, 20),
    }
    for sort in SORTS:
        queries[f"sort {sort}"] = ({"sort": sort}, 20)
    queries["search unique ID"] = ({"q": f"SUB-{middle:07d}"}, 50)
    queries["search contact name"] = ({"q": contact_name}, 50)
    queries["search common word"] = ({"q": "fibre"}, 50)
    # Matches bunched where the sort order does not start: a walk of the sort index meets them
    # only after passing most rows (names begin with the contact's name; an ID prefix shared by
    # about 1% of the rows is one range of creation).
    digits = len(str(loaded.subscriptions // 100)) - 1
    prefix = f"SUB-{middle:07d}"[: len("SUB-") + 7 - digits]
    queries["status=Suspended sort status"] = ({"status": "Suspended", "sort": "status"}, 20)
    queries["search contact name sort name"] = ({"q": contact_name, "sort": "name"}, 50)
    queries["search unique ID prefix"] = ({"q": prefix}, 50)
    return queries
