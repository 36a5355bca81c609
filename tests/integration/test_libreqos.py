"""The LibreQoS feed, read the way LibreQoS's WISPGate integration reads it."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from services.subscription.access import tokens
from services.subscription.read import libreqos
from tests.integration.conftest import ClientFactory, new_subscription, project

KEYS = {
    "Circuit ID", "Circuit Name", "Device ID", "Device Name", "Parent Node", "MAC", "IPv4",
    "IPv6", "Download Min Mbps", "Upload Min Mbps", "Download Max Mbps", "Upload Max Mbps",
    "Comment",
}  # fmt: skip


def integration_reads(shaped_devices: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What src/integrationWISPGate.py does with the answer, up to building its graph.

    Per circuit: rates through int(), falling back as it does; devices without any address
    omitted. Returns circuit id -> {"download", "upload", "devices": [(name, mac, ipv4, ipv6)]}.
    """
    circuits: dict[str, dict[str, Any]] = {}
    for device in shaped_devices:
        if device["Circuit ID"] not in circuits:
            download_max = upload_max = 2
            if device["Download Max Mbps"] is not None:
                download_max = int(device["Download Max Mbps"])
            elif device["Download Min Mbps"] is not None:
                download_max = int(device["Download Min Mbps"])
            if device["Upload Max Mbps"] is not None:
                upload_max = int(device["Upload Max Mbps"])
            circuits[device["Circuit ID"]] = {
                "name": device["Circuit ID"],
                "parent": device["Parent Node"],
                "download": download_max,
                "upload": upload_max,
                "devices": [],
            }
    for device in shaped_devices:
        has_ip = device["IPv4"] not in (None, "") or device["IPv6"] not in (None, "")
        if has_ip:
            ipv4 = [device["IPv4"]] if device["IPv4"] is not None else []
            ipv6 = [device["IPv6"]] if device["IPv6"] is not None else []
            circuits[device["Circuit ID"]]["devices"].append(
                ("Device " + device["Device Name"], device["MAC"], ipv4, ipv6)
            )
    return circuits


async def _fetch(transport: httpx.ASGITransport, token: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        # as the integration sends it: requests.post(url, data={'api_token': ...})
        return await client.post("/api/libreqos/shaped-devices", data={"api_token": token})


# Pages of one and two devices put every page boundary (and an empty last page) under test.
@pytest.mark.parametrize("page", [1000, 2, 1])
async def test_shaped_devices_as_the_integration_reads_them(
    client_for: ClientFactory,
    app_transport: httpx.ASGITransport,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    page: int,
) -> None:
    monkeypatch.setattr(libreqos, "BATCH", page)
    api = await client_for()
    active = await new_subscription(api, name="Farmhouse")
    base = f"/api/v1/subscriptions/{active['id']}"
    service = {
        "plan": "Home 50", "download_max_mbps": 50, "upload_max_mbps": 10,
        "download_min_mbps": 20, "ipv4": ["100.64.5.8/29", "100.64.6.1"],
        "ipv6": ["2001:db8:5::/56"], "parent_node": "AP-North", "mac": "00:11:22:33:44:55",
    }  # fmt: skip
    s1 = (await api.post(f"{base}/services", json=service)).json()["id"]
    await api.post(
        f"{base}/devices",
        json={"name": "Roof CPE", "type": "CPE", "mac": "AA:BB:CC:00:00:01", "service_id": s1},
    )
    await api.post(f"{base}/devices", json={"name": "Router", "type": "router", "service_id": s1})
    bare = {"plan": "Backup", "download_max_mbps": 5, "upload_max_mbps": 1, "ipv4": ["100.64.7.1"]}
    s2 = (await api.post(f"{base}/services", json=bare)).json()["id"]
    off = {**bare, "ipv4": ["100.64.7.2"], "status": "disabled"}
    await api.post(f"{base}/services", json=off)

    suspended = await new_subscription(api, name="Late Payer")
    await api.post(
        f"/api/v1/subscriptions/{suspended['id']}/services", json={**bare, "ipv4": ["100.64.8.1"]}
    )
    await api.post(f"/api/v1/subscriptions/{suspended['id']}/status", json={"status": "Suspended"})
    closed = await new_subscription(api, name="Gone")
    await api.post(
        f"/api/v1/subscriptions/{closed['id']}/services", json={**bare, "ipv4": ["100.64.9.9"]}
    )
    done = await api.post(
        f"/api/v1/subscriptions/{closed['id']}/status", json={"status": "Completed"}
    )
    await project(pool, done.json()["position"])

    token, _ = await tokens.create(pool, "libreqos", _tenant_of(api), "read")
    response = await _fetch(app_transport, token)
    assert response.status_code == 200
    devices = response.json()
    assert all(set(d) == KEYS for d in devices)
    assert all(isinstance(d[k], int) for d in devices for k in KEYS if k.endswith("Mbps"))
    assert all(d["Device Name"] for d in devices)
    by_circuit = {d["Circuit ID"]: d for d in devices}
    assert len(devices) == 3  # two services of the active one, one of the suspended one

    main = by_circuit[s1]
    assert main["Device Name"] == "Roof CPE" and main["MAC"] == "aa:bb:cc:00:00:01"
    assert main["IPv4"] == "100.64.5.8/29, 100.64.6.1" and main["IPv6"] == "2001:db8:5::/56"
    assert (main["Download Min Mbps"], main["Download Max Mbps"]) == (20, 50)
    assert main["Parent Node"] == "AP-North"
    assert by_circuit[s2]["Device Name"] and by_circuit[s2]["MAC"] == ""
    trickle = next(d for d in devices if d["Circuit ID"] not in (s1, s2))
    assert trickle["Download Max Mbps"] == trickle["Upload Max Mbps"] == 1

    circuits = integration_reads(devices)
    assert circuits[s1]["download"] == 50 and len(circuits[s1]["devices"]) == 1
    assert sum(len(c["devices"]) for c in circuits.values()) == len(devices)


async def test_a_wrong_token_is_401(app_transport: httpx.ASGITransport) -> None:
    assert (await _fetch(app_transport, "wrong")).status_code == 401
    async with httpx.AsyncClient(transport=app_transport, base_url="http://t") as client:
        assert (await client.post("/api/libreqos/shaped-devices")).status_code == 422


def _tenant_of(api: httpx.AsyncClient) -> str:
    return api.tenant_id  # type: ignore[attr-defined,no-any-return]
