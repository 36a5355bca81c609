"""The inner page's tabs read back what the commands did, through the real projection."""

from __future__ import annotations

import asyncpg
import httpx

from tests.integration.conftest import new_subscription, project


async def test_tabs_show_services_devices_hotspots_billing_payments_touchpoints(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    sub = await new_subscription(api)
    base = f"/api/v1/subscriptions/{sub['id']}"
    service = {
        "plan": "Fibre 300", "download_max_mbps": 300, "upload_max_mbps": 100,
        "ipv4": ["100.65.0.1"], "pppoe_username": "fibre-1", "mac": "AABB.CC00.0001",
        "qos_mode": "cake", "installation_address": "Plot 7",
    }  # fmt: skip
    service_id = (await api.post(f"{base}/services", json=service)).json()["id"]
    await api.post(
        f"{base}/devices",
        json={"name": "ONU", "type": "ONU", "vendor": "Huawei", "model": "HG8245",
              "serial": "48575443", "service_id": service_id},
    )  # fmt: skip
    await api.post(f"{base}/hotspots", json={"login": "v-7731", "data_limit_mb": 2048})
    billing = {
        "plan": "Fibre 300",
        "price": "59.5",
        "currency": "EUR",
        "cycle": "monthly",
        "billing_day": 1,
    }
    await api.put(f"{base}/billing", json=billing)
    paid = await api.post(
        f"{base}/payments",
        json={
            "amount": "59.50",
            "currency": "EUR",
            "method": "card",
            "paid_at": "2026-11-02T08:00:00Z",
        },
    )
    await api.post(
        f"{base}/payments/{paid.json()['id']}/refund", json={"amount": "9.5", "reason": "outage"}
    )
    last = await api.post(f"{base}/touchpoints", json={"kind": "visit", "note": "installed ONU"})
    position = last.json()["position"]
    await project(pool, position)

    query = {"min_position": position}
    services = (await api.get(f"{base}/services", params=query)).json()["items"]
    assert [s["mac"] for s in services] == ["aa:bb:cc:00:00:01"]
    assert services[0]["ipv4"] == ["100.65.0.1"] and services[0]["status"] == "active"
    devices = (await api.get(f"{base}/devices", params=query)).json()["items"]
    assert devices[0]["type"] == "ONU" and devices[0]["service_id"] == service_id
    hotspots = (await api.get(f"{base}/hotspots", params=query)).json()["items"]
    assert hotspots[0]["login"] == "v-7731"

    details = (await api.get(f"{base}/details", params=query)).json()
    assert details["billing"]["price"] == "59.50" and details["billing"]["currency"] == "EUR"
    assert details["hardware"][0]["serial"] == "48575443"
    assert details["service_information"][0]["plan"] == "Fibre 300"
    [payment] = details["payments"]
    assert (payment["amount"], payment["refunded"], payment["net"]) == ("59.50", "9.50", "50.00")
    assert payment["refunds"][0]["reason"] == "outage"

    summary = (await api.get(base, params=query)).json()
    assert summary["counts"] == {"services": 1, "hotspots": 1, "devices": 1}
    assert summary["touchpoints"][0]["note"] == "installed ONU"
    assert summary["touchpoints"][0]["actor"] == "tester-admin"

    removed = await api.delete(f"{base}/services/{service_id}")
    await project(pool, removed.json()["position"])
    query = {"min_position": removed.json()["position"]}
    devices = (await api.get(f"{base}/devices", params=query)).json()["items"]
    assert devices[0]["service_id"] is None  # removing a service detaches its devices


async def test_tabs_of_another_tenant_are_404(api: httpx.AsyncClient, client_for) -> None:  # type: ignore[no-untyped-def]
    sub = await new_subscription(api)
    other = await client_for()
    for tab in ("services", "hotspots", "devices", "details", "payments", "touchpoints", "history"):
        assert (await other.get(f"/api/v1/subscriptions/{sub['id']}/{tab}")).status_code == 404
