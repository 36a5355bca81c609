"""Commands of the inner page over HTTP: services, hotspots, devices, billing, payments."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.integration.conftest import new_subscription

SERVICE = {"plan": "Home 50", "download_max_mbps": 50, "upload_max_mbps": 10}


async def _service(
    api: httpx.AsyncClient, subscription_id: object, **fields: object
) -> httpx.Response:
    return await api.post(
        f"/api/v1/subscriptions/{subscription_id}/services", json={**SERVICE, **fields}
    )


async def test_add_edit_remove_a_service(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api)
    added = await _service(
        api, sub["id"], ipv4=["100.64.0.8/29"], ipv6=["2001:db8:100::/56"],
        mac="AA-BB-CC-00-11-22", pppoe_username="farm1", download_min_mbps=10,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    body = added.json()
    assert set(body) == {"id", "version", "position"} and body["version"] == 2
    url = f"/api/v1/subscriptions/{sub['id']}/services/{body['id']}"
    edited = await api.patch(url, json={"download_max_mbps": 100, "status": "disabled"})
    assert edited.status_code == 200 and edited.json()["version"] == 4  # update + status change
    same = await api.patch(url, json={"download_max_mbps": 100})
    assert same.json()["version"] == 4
    gone = await api.delete(url)
    assert gone.status_code == 200 and set(gone.json()) == {"version", "position"}
    assert (await api.delete(url)).status_code == 404


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"ipv4": ["192.0.2.9/29"]}, "/ipv4/0"),
        ({"ipv4": ["10.0.0.1", "300.1.1.1"]}, "/ipv4/1"),
        ({"ipv4": ["10.0.0.0/24", "10.0.0.7"]}, "/ipv4/1"),
        ({"ipv6": ["2001:db8::/200"]}, "/ipv6/0"),
        ({"mac": "not-a-mac"}, "/mac"),
        ({"download_max_mbps": 0}, "/download_max_mbps"),
        ({"download_max_mbps": "fast"}, "/download_max_mbps"),
        ({"download_min_mbps": 60}, "/download_min_mbps"),
        ({"pppoe_username": "has space"}, "/pppoe_username"),
        ({"pppoe_password": "secret"}, "/pppoe_password"),
        ({"status": "paused"}, "/status"),
        ({"plan": ""}, "/plan"),
    ],
)
async def test_bad_services_are_named(api: httpx.AsyncClient, fields: dict, pointer: str) -> None:
    sub = await new_subscription(api)
    response = await _service(api, sub["id"], **fields)
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert "secret" not in response.text


async def test_addresses_and_logins_are_unique_among_open_subscriptions(
    api: httpx.AsyncClient,
) -> None:
    first, second = await new_subscription(api), await new_subscription(api)
    assert (
        await _service(api, first["id"], ipv4=["100.64.1.0/29"], pppoe_username="u1")
    ).status_code == 201
    overlap = await _service(api, second["id"], ipv4=["100.64.1.5"])
    assert overlap.status_code == 409
    assert first["unique_id"] in overlap.json()["detail"]
    login = await _service(api, second["id"], pppoe_username="U1")
    assert login.status_code == 409 and first["unique_id"] in login.json()["detail"]
    # closing the first releases what it held
    closed = await api.post(
        f"/api/v1/subscriptions/{first['id']}/status", json={"status": "Completed"}
    )
    assert closed.status_code == 200
    assert (
        await _service(api, second["id"], ipv4=["100.64.1.5"], pppoe_username="u1")
    ).status_code == 201


async def test_two_requests_for_one_address_race_and_one_wins(api: httpx.AsyncClient) -> None:
    subs = [await new_subscription(api) for _ in range(4)]
    responses = await asyncio.gather(*(_service(api, s["id"], ipv4=["100.64.9.1"]) for s in subs))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409], codes


async def test_removing_a_service_frees_its_address(api: httpx.AsyncClient) -> None:
    first, second = await new_subscription(api), await new_subscription(api)
    added = (await _service(api, first["id"], ipv4=["100.64.2.1"])).json()
    await api.delete(f"/api/v1/subscriptions/{first['id']}/services/{added['id']}")
    assert (await _service(api, second["id"], ipv4=["100.64.2.1"])).status_code == 201


async def test_devices_and_hotspots(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api)
    base = f"/api/v1/subscriptions/{sub['id']}"
    service = (await _service(api, sub["id"])).json()
    device = {"name": "Roof CPE", "type": "CPE", "mac": "aabb.cc00.1122", "ip": "10.1.1.2"}
    linked = await api.post(f"{base}/devices", json={**device, "service_id": service["id"]})
    assert linked.status_code == 201, linked.text
    stray = await api.post(
        f"{base}/devices", json={**device, "service_id": sub["refs"]["contact_id"]}
    )
    assert stray.status_code == 422 and stray.json()["errors"][0]["pointer"] == "/service_id"
    hotspot = await api.post(
        f"{base}/hotspots", json={"login": "voucher-1", "time_limit_minutes": 60}
    )
    assert hotspot.status_code == 201
    other = await new_subscription(api)
    taken = await api.post(
        f"/api/v1/subscriptions/{other['id']}/hotspots", json={"login": "VOUCHER-1"}
    )
    assert taken.status_code == 409


async def test_closed_subscription_takes_payments_and_touchpoints_only(
    api: httpx.AsyncClient,
) -> None:
    sub = await new_subscription(api)
    base = f"/api/v1/subscriptions/{sub['id']}"
    await api.post(f"{base}/status", json={"status": "Cancelled"})
    assert (await _service(api, sub["id"])).status_code == 409
    assert (await api.post(f"{base}/devices", json={"name": "x", "type": "CPE"})).status_code == 409
    assert (await api.post(f"{base}/hotspots", json={"login": "h"})).status_code == 409
    billing = {
        "plan": "x",
        "price": "10.00",
        "currency": "USD",
        "cycle": "monthly",
        "billing_day": 1,
    }
    assert (await api.put(f"{base}/billing", json=billing)).status_code == 409
    payment = {
        "amount": "49.90",
        "currency": "usd",
        "method": "cash",
        "paid_at": "2026-11-01T10:00:00Z",
    }
    assert (await api.post(f"{base}/payments", json=payment)).status_code == 201
    touch = await api.post(f"{base}/touchpoints", json={"kind": "call", "note": "asked to reopen"})
    assert touch.status_code == 201


async def test_billing_payments_and_refunds(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api)
    base = f"/api/v1/subscriptions/{sub['id']}"
    billing = {
        "plan": "Home 50",
        "price": "29.99",
        "currency": "kes",
        "cycle": "monthly",
        "billing_day": 5,
    }
    first = await api.put(f"{base}/billing", json=billing)
    assert first.status_code == 200
    assert (await api.put(f"{base}/billing", json=billing)).json()["version"] == first.json()[
        "version"
    ]
    for bad, pointer in (
        ({**billing, "billing_day": 29}, "/billing_day"),
        ({**billing, "price": 29.99}, "/price"),
        ({**billing, "currency": "euro"}, "/currency"),
        ({**billing, "cycle": "weekly"}, "/cycle"),
    ):
        response = await api.put(f"{base}/billing", json=bad)
        assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == pointer
    payment = {
        "amount": "50",
        "currency": "KES",
        "method": "mpesa",
        "paid_at": "2026-11-01T10:00:00+03:00",
    }
    paid = await api.post(f"{base}/payments", json=payment)
    assert paid.status_code == 201
    refund_url = f"{base}/payments/{paid.json()['id']}/refund"
    assert (
        await api.post(refund_url, json={"amount": "20", "reason": "outage"})
    ).status_code == 201
    too_much = await api.post(refund_url, json={"amount": "30.01"})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["pointer"] == "/amount"
    assert (await api.post(refund_url, json={"amount": "30"})).status_code == 201
    naive = await api.post(f"{base}/payments", json={**payment, "paid_at": "2026-11-01T10:00:00"})
    assert naive.status_code == 422
