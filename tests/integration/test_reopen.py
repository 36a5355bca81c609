"""Reopening a closed subscription and reactivating a directory entry, over HTTP."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.integration.conftest import ClientFactory, new_subscription, project

SERVICE = {"plan": "Home 50", "download_max_mbps": 50, "upload_max_mbps": 10}
REASON = {"reason": "cancelled by mistake"}


async def _service(
    api: httpx.AsyncClient, subscription_id: object, **fields: object
) -> httpx.Response:
    return await api.post(
        f"/api/v1/subscriptions/{subscription_id}/services", json={**SERVICE, **fields}
    )


async def _close(api: httpx.AsyncClient, subscription_id: object, status: str) -> None:
    closed = await api.post(
        f"/api/v1/subscriptions/{subscription_id}/status", json={"status": status}
    )
    assert closed.status_code == 200, closed.text


async def _reopen(
    api: httpx.AsyncClient, subscription_id: object, body: object = REASON
) -> httpx.Response:
    return await api.post(f"/api/v1/subscriptions/{subscription_id}/reopen", json=body)


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict = response.json()
    return problem


@pytest.mark.parametrize("closed_as", ["Cancelled", "Completed"])
async def test_reopen_a_closed_subscription_to_inactive(
    api: httpx.AsyncClient, pool: asyncpg.Pool, closed_as: str
) -> None:
    sub = await new_subscription(api)
    base = f"/api/v1/subscriptions/{sub['id']}"
    added = await _service(api, sub["id"], ipv4=["100.64.3.0/29"], ipv6=["2001:db8:3::/56"])
    assert added.status_code == 201
    hotspot = await api.post(f"{base}/hotspots", json={"login": "voucher-3"})
    assert hotspot.status_code == 201
    await _close(api, sub["id"], closed_as)

    reopened = await _reopen(api, sub["id"])
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert set(body) == {"id", "version", "position"}
    assert body["id"] == sub["id"] and body["version"] == 5

    await project(pool, body["position"])
    query = {"min_position": body["position"]}
    summary = (await api.get(base, params=query)).json()
    assert summary["status"] == "Inactive" and summary["version"] == 5
    listed = (await api.get("/api/v1/subscriptions", params=query)).json()["items"]
    assert [(i["id"], i["status"]) for i in listed] == [(sub["id"], "Inactive")]
    [newest, *_] = (await api.get(f"{base}/history", params=query)).json()["items"]
    assert newest["type"] == "subscription.reopened"
    assert newest["summary"] == f"Reopened from {closed_as} to Inactive: cancelled by mistake"
    assert newest["actor"] == "tester-admin"
    services = (await api.get(f"{base}/services", params=query)).json()["items"]
    assert services[0]["ipv4"] == ["100.64.3.0/29"]

    # Its address and login are held again: another subscription cannot take them.
    other = await new_subscription(api)
    taken = await _service(api, other["id"], ipv4=["100.64.3.1"])
    assert sub["unique_id"] in _problem(taken, 409)["detail"]
    taken = await _service(api, other["id"], ipv6=["2001:db8:3::/64"])
    assert sub["unique_id"] in _problem(taken, 409)["detail"]
    login = await api.post(
        f"/api/v1/subscriptions/{other['id']}/hotspots", json={"login": "VOUCHER-3"}
    )
    assert sub["unique_id"] in _problem(login, 409)["detail"]

    # And it takes changes again.
    active = await api.post(f"{base}/status", json={"status": "Active"})
    assert active.status_code == 200 and active.json()["version"] == 6


async def test_reopen_takes_back_the_pppoe_login(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api)
    assert (await _service(api, sub["id"], pppoe_username="farm7")).status_code == 201
    await _close(api, sub["id"], "Cancelled")
    assert (await _reopen(api, sub["id"])).status_code == 200
    other = await new_subscription(api)
    taken = _problem(await _service(api, other["id"], pppoe_username="FARM7"), 409)
    assert taken["type"] == "urn:wispgate:problem:pppoe-taken"
    assert sub["unique_id"] in taken["detail"]


@pytest.mark.parametrize(
    ("taken_field", "kind"),
    [
        ({"ipv4": ["100.64.4.5"]}, "ipv4"),
        ({"ipv6": ["2001:db8:4:1::/64"]}, "ipv6"),
        ({"pppoe_username": "Farm4"}, "pppoe"),
    ],
)
async def test_reopen_is_refused_naming_who_holds_an_address_or_login_now(
    api: httpx.AsyncClient, pool: asyncpg.Pool, taken_field: dict, kind: str
) -> None:
    sub = await new_subscription(api)
    fields = {"ipv4": ["100.64.4.0/29"], "ipv6": ["2001:db8:4::/56"], "pppoe_username": "farm4"}
    assert (await _service(api, sub["id"], **fields)).status_code == 201
    await _close(api, sub["id"], "Cancelled")
    # Closing released them; another subscription takes one meanwhile.
    holder = await new_subscription(api)
    assert (await _service(api, holder["id"], **taken_field)).status_code == 201

    refused = _problem(await _reopen(api, sub["id"]), 409)
    assert refused["type"] == f"urn:wispgate:problem:{kind}-taken"
    assert holder["unique_id"] in refused["detail"]
    assert refused["instance"] == f"/api/v1/subscriptions/{sub['id']}/reopen"
    # Nothing was appended: the subscription is still closed, at the version it was.
    summary = await api.get(f"/api/v1/subscriptions/{sub['id']}")
    stored = await pool.fetchval(
        "select max(version) from events.events where stream_id = $1", sub["id"]
    )
    assert stored == 3, summary.text

    # Once the holder lets go, the reopen goes through.
    await _close(api, holder["id"], "Completed")
    assert (await _reopen(api, sub["id"])).status_code == 200


async def test_reopen_of_an_open_subscription_is_refused(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api, status="Active")
    refused = _problem(await _reopen(api, sub["id"]), 409)
    assert refused["type"] == "urn:wispgate:problem:subscription-not-closed"
    assert "Active" in refused["detail"]


async def test_reopen_twice_is_refused_the_second_time(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api)
    await _close(api, sub["id"], "Completed")
    assert (await _reopen(api, sub["id"])).status_code == 200
    _problem(await _reopen(api, sub["id"]), 409)


async def test_a_repeated_idempotency_key_answers_the_first_reopen(
    api: httpx.AsyncClient,
) -> None:
    sub = await new_subscription(api)
    await _close(api, sub["id"], "Cancelled")
    url = f"/api/v1/subscriptions/{sub['id']}/reopen"
    headers = {"Idempotency-Key": f"reopen-{sub['id']}"}
    first = await api.post(url, json=REASON, headers=headers)
    again = await api.post(url, json=REASON, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/reason"),
        ({"reason": "   "}, "/reason"),
        ({"reason": "x" * 501}, "/reason"),
        ({"reason": "ok", "status": "Active"}, "/status"),
    ],
)
async def test_reopen_needs_a_reason(api: httpx.AsyncClient, body: dict, pointer: str) -> None:
    sub = await new_subscription(api)
    await _close(api, sub["id"], "Cancelled")
    refused = _problem(await _reopen(api, sub["id"], body), 422)
    assert pointer in [e["pointer"] for e in refused["errors"]]


async def test_reopen_of_an_unknown_or_foreign_subscription_is_not_found(
    api: httpx.AsyncClient, client_for: ClientFactory
) -> None:
    sub = await new_subscription(api)
    await _close(api, sub["id"], "Cancelled")
    stranger = await client_for()
    _problem(await _reopen(stranger, sub["id"]), 404)
    _problem(await _reopen(api, "00000000-0000-4000-8000-000000000000"), 404)


async def test_a_read_token_cannot_reopen_or_reactivate(
    api: httpx.AsyncClient, client_for: ClientFactory
) -> None:
    sub = await new_subscription(api)
    await _close(api, sub["id"], "Cancelled")
    contact = sub["refs"]["contact_id"]  # type: ignore[index]
    await api.post(f"/api/v1/contacts/{contact}/deactivate", json={})
    reader = await client_for(api.tenant_id, role="read")  # type: ignore[attr-defined]
    _problem(await _reopen(reader, sub["id"]), 403)
    _problem(await reader.post(f"/api/v1/contacts/{contact}/reactivate", json={}), 403)


# Reactivate


async def test_reactivate_a_deactivated_contact(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    sub = await new_subscription(api)
    contact = sub["refs"]["contact_id"]  # type: ignore[index]
    gone = await api.post(f"/api/v1/contacts/{contact}/deactivate", json={"reason": "moved"})
    assert gone.status_code == 200
    refs = sub["refs"]
    refused = await api.post(
        "/api/v1/subscriptions", json={**refs, "name": "second", "status": "Active"}
    )
    assert _problem(refused, 422)["errors"][0]["pointer"] == "/contact_id"

    back = await api.post(f"/api/v1/contacts/{contact}/reactivate", json={"reason": "returned"})
    assert back.status_code == 200, back.text
    assert set(back.json()) == {"id", "version", "position"} and back.json()["version"] == 3
    await project(pool, back.json()["position"])
    query = {"min_position": back.json()["position"]}
    entry = (await api.get(f"/api/v1/contacts/{contact}", params=query)).json()
    assert entry["active"] is True and entry["version"] == 3
    listed = (await api.get("/api/v1/contacts", params={**query, "active": "true"})).json()
    assert contact in [i["id"] for i in listed["items"]]

    # It can be newly referenced again.
    created = await api.post(
        "/api/v1/subscriptions", json={**refs, "name": "second", "status": "Active"}
    )
    assert created.status_code == 201, created.text


@pytest.mark.parametrize(
    ("path", "ref"),
    [
        ("organizations", "organization_id"),
        ("engineers", "engineer_id"),
        ("service-contracts", "service_contract_id"),
    ],
)
async def test_reactivate_every_kind_without_a_body(
    api: httpx.AsyncClient, path: str, ref: str
) -> None:
    sub = await new_subscription(api)
    entry_id = sub["refs"][ref]  # type: ignore[index]
    assert (await api.post(f"/api/v1/{path}/{entry_id}/deactivate")).status_code == 200
    back = await api.post(f"/api/v1/{path}/{entry_id}/reactivate")
    assert back.status_code == 200, back.text


async def test_reactivate_an_active_entry_is_refused(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api)
    contact = sub["refs"]["contact_id"]  # type: ignore[index]
    refused = _problem(await api.post(f"/api/v1/contacts/{contact}/reactivate", json={}), 409)
    assert refused["type"] == "urn:wispgate:problem:entry-active"


async def test_reactivate_of_an_entry_of_another_kind_is_not_found(api: httpx.AsyncClient) -> None:
    sub = await new_subscription(api)
    contact = sub["refs"]["contact_id"]  # type: ignore[index]
    await api.post(f"/api/v1/contacts/{contact}/deactivate", json={})
    _problem(await api.post(f"/api/v1/engineers/{contact}/reactivate", json={}), 404)
