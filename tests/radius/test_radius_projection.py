"""The radius read model: what rlm_sql finds for each login follows the subscriptions, the
plans and the hotspot accounts, and equals a rebuild from position 0 (real PostgreSQL, the
projections run in-process)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from services.projections.radius import RadiusProjection
from services.projections.rebuild import build_shadows, drop_shadows
from tests.integration.conftest import ClientFactory, new_subscription, project

PLAN = {
    "name": "Home 30", "download_max_mbps": 30, "upload_max_mbps": 10, "download_min_mbps": 10,
    "price": "30.00", "currency": "USD", "cycle": "monthly",
}  # fmt: skip


async def _rows(pool: asyncpg.Pool, tenant_id: str) -> dict[str, dict[str, str]]:
    """username -> {attribute: value}, and the group under `group`."""
    found: dict[str, dict[str, str]] = {}
    for row in await pool.fetch(
        "select username, attribute, value from radius.radreply where tenant_id = $1", tenant_id
    ):
        found.setdefault(row["username"], {})[row["attribute"]] = row["value"]
    for row in await pool.fetch(
        "select username, groupname from radius.radusergroup where tenant_id = $1", tenant_id
    ):
        found.setdefault(row["username"], {})["group"] = row["groupname"]
    return found


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_logins_follow_plans_statuses_and_hotspots(
    client_for: ClientFactory, pool: asyncpg.Pool
) -> None:
    api = await client_for()
    plan = await _ok(await api.post("/api/v1/plans", json=PLAN), 201)
    sub = (await new_subscription(api))["id"]
    base = f"/api/v1/subscriptions/{sub}"
    on_plan = {"plan_id": plan["id"], "upload_max_mbps": 15, "pppoe_username": "bob"}
    await _ok(await api.post(f"{base}/services", json=on_plan), 201)
    hotspot_body = {"login": "guest-7", "profile": "1h", "time_limit_minutes": 60}
    hotspot = await _ok(await api.post(f"{base}/hotspots", json=hotspot_body), 201)
    await project(pool, hotspot["position"])
    rows = await _rows(pool, api.tenant_id)  # type: ignore[attr-defined]
    assert rows["bob"]["Mikrotik-Rate-Limit"] == "15M/30M 0/0 0/0 0/0 8 0M/10M"
    assert rows["bob"]["group"] == "active"
    assert rows["guest-7"] == {"Mikrotik-Group": "1h", "Session-Timeout": "3600", "group": "active"}

    # The plan's edit moves the rates it sets, not the service's own upload.
    edited = await _ok(
        await api.patch(f"/api/v1/plans/{plan['id']}", json={"download_max_mbps": 40})
    )
    await project(pool, edited["position"])
    rows = await _rows(pool, api.tenant_id)  # type: ignore[attr-defined]
    assert rows["bob"]["Mikrotik-Rate-Limit"] == "15M/40M 0/0 0/0 0/0 8 0M/10M"

    suspended = await _ok(await api.post(f"{base}/status", json={"status": "Suspended"}))
    await project(pool, suspended["position"])
    rows = await _rows(pool, api.tenant_id)  # type: ignore[attr-defined]
    assert rows["bob"] == {"group": "suspended"}  # the site adds the walled garden

    back = await _ok(await api.post(f"{base}/status", json={"status": "Active"}))
    disabled = await _ok(
        await api.patch(f"{base}/hotspots/{hotspot['id']}", json={"status": "disabled"})
    )
    await project(pool, max(back["position"], disabled["position"]))
    rows = await _rows(pool, api.tenant_id)  # type: ignore[attr-defined]
    assert set(rows) == {"bob"} and rows["bob"]["group"] == "active"

    closed = await _ok(await api.post(f"{base}/status", json={"status": "Completed"}))
    await project(pool, closed["position"])
    assert await _rows(pool, api.tenant_id) == {}  # type: ignore[attr-defined]

    await _equals_rebuild(pool)


async def _equals_rebuild(pool: asyncpg.Pool) -> None:
    """Every event of the run projected, the radius tables equal a rebuild's shadows."""
    await project(pool, await pool.fetchval("select coalesce(max(position), 0) from events.events"))
    await build_shadows(pool, ["radius"])
    try:
        for table in RadiusProjection.tables:
            live, shadow = f"radius.{table}", f"radius.{table}_shadow"
            differing = await pool.fetchval(
                f"select count(*) from ((table {live} except all table {shadow})"
                f" union all (table {shadow} except all table {live})) d"
            )
            assert differing == 0, table
    finally:
        await drop_shadows(pool, ["radius"])
