"""The plan catalogue over HTTP, services on plans, and an immediate plan change, down to the
LibreQoS feed (real PostgreSQL, the projections run in-process)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from services.projections.rebuild import build_shadows, drop_shadows
from services.subscription.access import tokens
from services.subscription.usecases.calls import Call
from tests.integration.conftest import ClientFactory, new_subscription, project

HOME_30 = {
    "name": "Home 30",
    "download_max_mbps": 30,
    "upload_max_mbps": 10,
    "download_min_mbps": 10,
    "qos_mode": "cake",
    "price": "30.00",
    "currency": "USD",
    "cycle": "monthly",
}
HOME_50 = {**HOME_30, "name": "Home 50", "download_max_mbps": 50, "upload_max_mbps": 20,
           "qos_mode": "fq_codel", "price": "50.00"}  # fmt: skip


async def _plan(api: httpx.AsyncClient, **fields: Any) -> str:
    created = await api.post("/api/v1/plans", json={**HOME_30, **fields})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _feed(transport: httpx.ASGITransport, pool: asyncpg.Pool, tenant_id: str) -> dict:
    token, _ = await tokens.create(pool, "libreqos", tenant_id, "read")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answered = await client.post("/api/libreqos/shaped-devices", data={"api_token": token})
    assert answered.status_code == 200
    return {d["Circuit ID"]: d for d in answered.json()}


def _rates(device: dict[str, Any]) -> tuple[int, int, int, int]:
    keys = ("Download Min Mbps", "Upload Min Mbps", "Download Max Mbps", "Upload Max Mbps")
    return tuple(device[k] for k in keys)  # type: ignore[return-value]


async def test_the_catalogue_is_created_listed_edited_and_retired(
    api: httpx.AsyncClient, client_for: ClientFactory, pool: asyncpg.Pool
) -> None:
    created = await api.post("/api/v1/plans", json=HOME_30)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "version", "position"} and body["version"] == 1
    assert created.headers["location"] == f"/api/v1/plans/{body['id']}"
    other = await _plan(api, **HOME_50)
    await _plan(api, name="Business 200", price="120.5", download_max_mbps=200)

    one = await api.get(f"/api/v1/plans/{body['id']}", params={"min_position": body["position"]})
    if one.status_code == 503:  # no projection worker runs here: project, then read again
        await project(pool, body["position"])
        one = await api.get(f"/api/v1/plans/{body['id']}")
    assert one.status_code == 200 and one.headers["etag"] == '"1"'
    plan = one.json()
    assert plan["price"] == "30.00" and plan["currency"] == "USD" and plan["cycle"] == "monthly"
    assert (plan["download_max_mbps"], plan["retired"], plan["data_cap_gb"]) == (30, False, None)

    edited = await api.patch(f"/api/v1/plans/{other}", json={"price": "55", "upload_max_mbps": 25})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    same = await api.patch(f"/api/v1/plans/{other}", json={"price": "55.00"})
    assert same.json()["version"] == 2
    retired = await api.post(f"/api/v1/plans/{body['id']}/retire", json={"reason": "replaced"})
    assert retired.status_code == 200 and retired.json()["version"] == 2
    await project(pool, retired.json()["position"])

    names = [p["name"] for p in (await api.get("/api/v1/plans")).json()["items"]]
    assert names == ["Business 200", "Home 30", "Home 50"]
    offered = (await api.get("/api/v1/plans", params={"retired": "false"})).json()["items"]
    assert [p["name"] for p in offered] == ["Business 200", "Home 50"]
    assert offered[0]["price"] == "120.50"
    assert offered[1]["price"] == "55.00" and offered[1]["upload_max_mbps"] == 25
    found = (await api.get("/api/v1/plans", params={"q": "HOME", "sort": "-name"})).json()
    assert [p["name"] for p in found["items"]] == ["Home 50", "Home 30"]
    first = (await api.get("/api/v1/plans", params={"limit": 2})).json()
    rest = await api.get("/api/v1/plans", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [p["name"] for p in rest.json()["items"]] == ["Home 50"]
    assert rest.json()["next_cursor"] is None
    gone = (await api.get(f"/api/v1/plans/{body['id']}")).json()
    assert gone["retired"] and gone["retired_reason"] == "replaced"

    stranger = await client_for()
    assert (await stranger.get(f"/api/v1/plans/{other}")).status_code == 404
    assert (await stranger.patch(f"/api/v1/plans/{other}", json={"name": "x"})).status_code == 404
    assert (await stranger.get("/api/v1/plans")).json()["items"] == []


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"price": 30.0}, "/price"),
        ({"price": "thirty"}, "/price"),
        ({"price": "-5"}, "/price"),
        ({"price": ...}, "/price"),
        ({"cycle": "weekly"}, "/cycle"),
        ({"currency": "dollars"}, "/currency"),
        ({"name": ""}, "/name"),
        ({"name": "x" * 201}, "/name"),
        ({"name": "Home\u0000"}, "/name"),
        ({"download_max_mbps": 0}, "/download_max_mbps"),
        ({"download_max_mbps": "fast"}, "/download_max_mbps"),
        ({"download_min_mbps": 31}, "/download_min_mbps"),
        ({"data_cap_gb": -1}, "/data_cap_gb"),
        ({"colour": "red"}, "/colour"),
    ],
)
async def test_hostile_plans_are_refused_naming_the_field(
    api: httpx.AsyncClient, fields: dict[str, Any], pointer: str
) -> None:
    body = {name: value for name, value in {**HOME_30, **fields}.items() if value is not ...}
    refused = await api.post("/api/v1/plans", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in refused.json()["errors"]]


async def test_a_read_token_reads_the_catalogue_and_changes_nothing(
    api: httpx.AsyncClient, client_for: ClientFactory
) -> None:
    plan_id = await _plan(api)
    sub = await new_subscription(api)
    service = await api.post(
        f"/api/v1/subscriptions/{sub['id']}/services", json={"plan_id": plan_id}
    )
    reader = await client_for(api.tenant_id, "read")  # type: ignore[attr-defined]
    writes = [
        reader.post("/api/v1/plans", json=HOME_30),
        reader.patch(f"/api/v1/plans/{plan_id}", json={"price": "1"}),
        reader.post(f"/api/v1/plans/{plan_id}/retire"),
        reader.post(
            f"/api/v1/subscriptions/{sub['id']}/services/{service.json()['id']}/plan",
            json={"plan_id": plan_id},
        ),
    ]
    for write in writes:
        assert (await write).status_code == 403
    assert (await reader.get("/api/v1/plans")).status_code == 200


async def test_a_service_on_a_plan_is_shaped_at_its_rates_until_an_immediate_change(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    basic, fast = await _plan(api), await _plan(api, **HOME_50)
    sub = await new_subscription(api)
    services = f"/api/v1/subscriptions/{sub['id']}/services"
    on_plan = await api.post(services, json={"plan_id": basic, "ipv4": ["100.64.20.1"]})
    assert on_plan.status_code == 201, on_plan.text
    own_upload = await api.post(
        services, json={"plan_id": basic, "upload_max_mbps": 40, "ipv4": ["100.64.20.2"]}
    )
    legacy = {"plan": "Legacy", "download_max_mbps": 7, "upload_max_mbps": 2}
    custom = await api.post(services, json={**legacy, "ipv4": ["100.64.20.3"]})
    await project(pool, custom.json()["position"])
    listed = {s["id"]: s for s in (await api.get(services)).json()["items"]}
    first = listed[on_plan.json()["id"]]
    assert (first["plan"], first["plan_id"], first["overrides"]) == ("Home 30", basic, [])
    assert (first["download_max_mbps"], first["qos_mode"]) == (30, "cake")
    assert listed[own_upload.json()["id"]]["overrides"] == ["upload_max_mbps"]
    assert (listed[custom.json()["id"]]["plan_id"], listed[custom.json()["id"]]["plan"]) == (
        None,
        "Legacy",
    )

    feed = await _feed(app_transport, pool, api.tenant_id)  # type: ignore[attr-defined]
    assert _rates(feed[on_plan.json()["id"]]) == (10, 10, 30, 10)
    assert _rates(feed[own_upload.json()["id"]]) == (10, 40, 30, 40)
    assert _rates(feed[custom.json()["id"]]) == (7, 2, 7, 2)

    # The plan edited: every service on it follows, but for what it overrides.
    edited = await api.patch(f"/api/v1/plans/{basic}", json={"download_max_mbps": 35})
    await project(pool, edited.json()["position"])
    feed = await _feed(app_transport, pool, api.tenant_id)  # type: ignore[attr-defined]
    assert _rates(feed[on_plan.json()["id"]]) == (10, 10, 35, 10)
    assert _rates(feed[own_upload.json()["id"]]) == (10, 40, 35, 40)

    # An immediate upgrade: the feed shapes at the new plan's rates, the override kept.
    for added in (on_plan, own_upload):
        url = f"{services}/{added.json()['id']}/plan"
        changed = await api.post(url, json={"plan_id": fast, "effective": "now"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["id"] == added.json()["id"]
    again = await api.post(url, json={"plan_id": fast})
    assert again.json()["version"] == changed.json()["version"]  # already on it: nothing new
    await project(pool, changed.json()["position"])
    feed = await _feed(app_transport, pool, api.tenant_id)  # type: ignore[attr-defined]
    assert _rates(feed[on_plan.json()["id"]]) == (10, 20, 50, 20)
    assert _rates(feed[own_upload.json()["id"]]) == (10, 40, 50, 40)
    moved = {s["id"]: s for s in (await api.get(services)).json()["items"]}
    assert moved[on_plan.json()["id"]]["plan"] == "Home 50"

    history = (await api.get(f"/api/v1/subscriptions/{sub['id']}/history")).json()["items"]
    [latest] = [h for h in history if h["version"] == changed.json()["version"]]
    assert latest["type"] == "subscription.service_plan_changed"
    proration = latest["data"]["proration"]
    assert proration["currency"] == "USD" and proration["days_left"] >= 1
    assert "Home 30" in latest["summary"] and "Home 50" in latest["summary"]


async def test_a_retired_plan_is_kept_by_its_services_and_offered_to_no_new_one(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    old, new = await _plan(api, name="Legacy 10"), await _plan(api, **HOME_50)
    sub = await new_subscription(api)
    services = f"/api/v1/subscriptions/{sub['id']}/services"
    kept = (await api.post(services, json={"plan_id": old})).json()["id"]
    assert (await api.post(f"/api/v1/plans/{old}/retire")).status_code == 200

    refused = await api.post(services, json={"plan_id": old})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "urn:wispgate:problem:plan-retired"
    assert refused.json()["errors"][0]["pointer"] == "/plan_id"
    edited = await api.patch(f"{services}/{kept}", json={"parent_node": "AP-7"})
    assert edited.status_code == 200  # the service on it keeps it, and is still edited
    moved = await api.post(f"{services}/{kept}/plan", json={"plan_id": new})
    assert moved.status_code == 200, moved.text
    back = await api.patch(f"{services}/{kept}", json={"plan_id": old})
    assert back.status_code == 409  # moved away, it cannot come back
    unknown = await api.post(services, json={"plan_id": sub["id"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/plan_id"
    bad_effective = await api.post(
        f"{services}/{kept}/plan", json={"plan_id": new, "effective": "someday"}
    )
    assert bad_effective.status_code == 422
    assert bad_effective.json()["errors"][0]["pointer"] == "/effective"
    missing = await api.post(f"{services}/{sub['id']}/plan", json={"plan_id": new})
    assert missing.status_code == 404


async def test_plans_and_services_on_them_fold_live_as_in_a_rebuild(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    basic, fast = await _plan(api), await _plan(api, **HOME_50)
    sub = await new_subscription(api)
    services = f"/api/v1/subscriptions/{sub['id']}/services"
    one = (await api.post(services, json={"plan_id": basic, "upload_max_mbps": 40})).json()["id"]
    await api.post(services, json={"plan_id": basic, "qos_mode": "sqm"})
    await api.patch(f"/api/v1/plans/{basic}", json={"download_max_mbps": 35, "name": "Home 35"})
    await api.post(f"{services}/{one}/plan", json={"plan_id": fast})
    await api.patch(f"{services}/{one}", json={"upload_max_mbps": None, "plan_id": basic})
    last = await api.post(f"/api/v1/plans/{fast}/retire")
    await project(pool, last.json()["position"])

    await build_shadows(pool, ["inner", "plans"])
    try:
        for table in ("services", "service_plans", "plans"):
            differ = await pool.fetchval(
                f"select count(*) from ("
                f" (select * from read.{table} where tenant_id = $1"
                f"  except all select * from read.{table}_shadow where tenant_id = $1)"
                f" union all"
                f" (select * from read.{table}_shadow where tenant_id = $1"
                f"  except all select * from read.{table} where tenant_id = $1)) d",
                api.tenant_id,  # type: ignore[attr-defined]
            )
            assert differ == 0, table
    finally:
        await drop_shadows(pool, ["inner", "plans"])
    listed = {s["id"]: s for s in (await api.get(services)).json()["items"]}
    assert (listed[one]["plan"], listed[one]["upload_max_mbps"]) == ("Home 35", 10)
    assert listed[one]["download_max_mbps"] == 35 and listed[one]["overrides"] == []


async def test_a_pending_plan_change_is_shown_cancelled_and_applied_when_due(
    api: httpx.AsyncClient, pool: asyncpg.Pool, app_transport: httpx.ASGITransport
) -> None:
    basic, fast = await _plan(api), await _plan(api, **HOME_50)
    sub = await new_subscription(api)
    services = f"/api/v1/subscriptions/{sub['id']}/services"
    service = (await api.post(services, json={"plan_id": basic, "ipv4": ["100.64.30.1"]})).json()
    url = f"{services}/{service['id']}/plan"

    pending = await api.post(url, json={"plan_id": fast, "effective": "next_cycle"})
    assert pending.status_code == 200, pending.text
    await project(pool, pending.json()["position"])
    [listed] = (await api.get(services)).json()["items"]
    change = listed["pending_plan_change"]
    assert (change["plan_id"], change["plan"]) == (fast, "Home 50")
    assert change["effective_at"].endswith("T00:00:00Z") or "T00:00:00" in change["effective_at"]
    assert listed["plan_id"] == basic and listed["download_max_mbps"] == 30  # not yet

    cancelled = await api.delete(url)
    assert cancelled.status_code == 200 and set(cancelled.json()) == {"version", "position"}
    assert (await api.delete(url)).json()["version"] == cancelled.json()["version"]
    await project(pool, cancelled.json()["position"])
    assert (await api.get(services)).json()["items"][0]["pending_plan_change"] is None

    for refused, pointer in (
        ({"plan_id": fast, "effective": "2020-01-01T00:00:00Z"}, "/effective"),
        ({"plan_id": fast, "effective": "2099-01-01T00:00:00"}, "/effective"),
        ({"plan_id": fast, "effective": "tomorrow"}, "/effective"),
    ):
        answered = await api.post(url, json=refused)
        assert answered.status_code == 422, answered.text
        assert pointer in [e["pointer"] for e in answered.json()["errors"]]

    at = "2099-03-15T06:00:00Z"
    scheduled = await api.post(url, json={"plan_id": fast, "effective": at})
    assert scheduled.status_code == 200, scheduled.text
    # The scheduler's command, with its clock: not due the day before, due at the moment.
    cases = app_transport.app.state.usecases  # type: ignore[attr-defined]
    call = Call(actor="system:scheduler", tenant_id=api.tenant_id)  # type: ignore[attr-defined]
    early = await cases.plans.apply_plan_change(
        call, UUID(sub["id"]), UUID(service["id"]), datetime(2099, 3, 14, tzinfo=UTC)
    )
    assert early.version == scheduled.json()["version"]
    due = await cases.plans.apply_plan_change(
        call, UUID(sub["id"]), UUID(service["id"]), datetime(2099, 3, 15, 6, tzinfo=UTC)
    )
    assert due.version == scheduled.json()["version"] + 1
    await project(pool, due.position)
    [moved] = (await api.get(services)).json()["items"]
    assert (moved["plan_id"], moved["pending_plan_change"]) == (fast, None)
    feed = await _feed(app_transport, pool, api.tenant_id)  # type: ignore[attr-defined]
    assert _rates(feed[service["id"]]) == (10, 20, 50, 20)
    history = (await api.get(f"/api/v1/subscriptions/{sub['id']}/history")).json()["items"]
    [applied] = [h for h in history if h["version"] == due.version]
    assert applied["actor"] == "system:scheduler"
    assert applied["data"]["effective_at"].startswith("2099-03-15T06:00:00")
    # 17 of 31 March days left from the 15th: credit 30 x 17/31 = 16.45, charge 50 x 17/31 = 27.42
    assert (applied["data"]["proration"]["credit"], applied["data"]["proration"]["charge"]) == (
        "16.45",
        "27.42",
    )
