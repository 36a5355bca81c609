"""FreeRADIUS with the project's configuration answers logins from the radius read model.

A real FreeRADIUS (Debian's 3.2) is started on free ports against the run's database; the
requests come from tests/radius/client.py, from the address of the tenant's NAS. Skipped only
where freeradius is missing outside CI.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest

from services.projections.freeradius import RadiusSettings
from services.projections.supervisor import supervise
from tests.helpers import until
from tests.integration.conftest import ClientFactory, new_subscription, project
from tests.radius.client import Reply, access_request

pytestmark = pytest.mark.skipif(
    shutil.which("freeradius") is None and not os.environ.get("CI"),
    reason="FreeRADIUS is not installed (make radius)",
)

NAS_A, NAS_B, LATER = "127.0.0.1", "127.0.0.2", "127.0.0.3"
SECRET_A, SECRET_B, SECRET_LATER = "secret-of-a", "secret-of-b", "secret-of-later"
PASSWORDS = {
    "alice": "Pässword-1", "sam": "suspended-2", "carl": "cancelled-3", "voucher-9": "hotspot-6",
}  # fmt: skip
OTHER_ALICE = "other-tenant-4"
ROTATED = "rotated-5"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def radius_log() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wispgate-radius-test-") as folder:
        yield Path(folder)


async def _service(api: httpx.AsyncClient, status: str, username: str, **extra: Any) -> str:
    created = await new_subscription(api, status="Active")
    sub = created["id"]
    body = {
        "plan": "Home 50",
        "download_max_mbps": 50,
        "upload_max_mbps": 10,
        "pppoe_username": username,
        "status": "active",
        **extra,
    }
    response = await api.post(f"/api/v1/subscriptions/{sub}/services", json=body)
    assert response.status_code == 201, response.text
    service_id = response.json()["id"]
    if status != "Active":
        moved = await api.post(f"/api/v1/subscriptions/{sub}/status", json={"status": status})
        assert moved.status_code == 200, moved.text
    return f"{sub}/services/{service_id}"


async def _password(api: httpx.AsyncClient, item: str, password: str) -> int:
    response = await api.put(f"/api/v1/subscriptions/{item}/password", json={"password": password})
    assert response.status_code == 200, response.text
    assert password not in response.text
    return int(response.json()["position"])


async def _nas(api: httpx.AsyncClient, address: str, secret: str) -> None:
    body = {"name": f"router {address}", "address": address, "secret": secret, "type": "mikrotik"}
    response = await api.post("/api/v1/nas", json=body)
    assert response.status_code == 201, response.text
    assert secret not in response.text


async def _ask(port: int, *args: Any, **kwargs: Any) -> Reply:
    return await asyncio.to_thread(access_request, ("127.0.0.1", port), *args, **kwargs)


async def _answer(port: int, *args: Any, **kwargs: Any) -> Reply | None:
    """The reply, or None while FreeRADIUS does not answer (not started, unknown client)."""
    try:
        return await _ask(port, *args, timeout=1.0, **kwargs)
    except TimeoutError:
        return None


def _log_file(state: Path) -> IO[bytes]:
    return (state / "stdout.log").open("wb")


def _output(state: Path) -> str:
    return (state / "stdout.log").read_text()


async def _started(port: int, radius: asyncio.Task[None], state: Path) -> None:
    for _ in range(30):
        assert not radius.done(), _output(state)
        try:  # a reject comes after FreeRADIUS's reject_delay (1 s)
            await _ask(port, SECRET_A, "nobody", "x", timeout=1.5)
            return
        except TimeoutError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"FreeRADIUS never answered: {_output(state)}")


async def test_logins_answered_from_the_read_model(
    client_for: ClientFactory, pool: asyncpg.Pool, database_url: str, radius_log: Path
) -> None:
    api_a, api_b = await client_for(), await client_for()
    alice = await _service(
        api_a, "Active", "alice", download_min_mbps=20, upload_min_mbps=5,
        ipv4=["192.0.2.10"], ipv6=["2001:db8:10::/56"],
    )  # fmt: skip
    sam = await _service(api_a, "Suspended", "sam", ipv4=["192.0.2.11"])
    carl = await _service(api_a, "Cancelled", "carl")
    others = await _service(api_b, "Active", "alice")
    await _password(api_a, alice, PASSWORDS["alice"])
    await _password(api_a, sam, PASSWORDS["sam"])
    voucher = {"login": "voucher-9", "profile": "day", "time_limit_minutes": 1440}
    subscription_of_alice = alice.partition("/")[0]
    hotspot = await api_a.post(
        f"/api/v1/subscriptions/{subscription_of_alice}/hotspots", json=voucher
    )
    assert hotspot.status_code == 201, hotspot.text
    await _password(
        api_a, f"{subscription_of_alice}/hotspots/{hotspot.json()['id']}", PASSWORDS["voucher-9"]
    )
    refused = await api_a.put(
        f"/api/v1/subscriptions/{carl}/password", json={"password": PASSWORDS["carl"]}
    )
    assert refused.status_code == 409, refused.text  # a closed subscription's login
    position = await _password(api_b, others, OTHER_ALICE)
    await _nas(api_a, NAS_A, SECRET_A)
    await _nas(api_b, NAS_B, SECRET_B)
    await project(pool, position)

    port = free_udp_port()
    settings = RadiusSettings(
        DATABASE_URL=database_url,
        WISPGATE_RADIUS_AUTH_PORT=port,
        WISPGATE_RADIUS_ACCT_PORT=free_udp_port(),
        WISPGATE_RADIUS_ADDRESS="127.0.0.1",
        WISPGATE_RADIUS_STATE_DIR=radius_log,
        WISPGATE_RADIUS_CLIENTS_POLL=0.3,
    )
    # As `python -m services.projections radius` runs it, its output in a file.
    stop, out = asyncio.Event(), _log_file(radius_log)
    binary = shutil.which("freeradius") or "freeradius"
    radius = asyncio.create_task(supervise(settings, binary, stop, out))
    try:
        await _started(port, radius, radius_log)

        pap = await _ask(port, SECRET_A, "alice", PASSWORDS["alice"])
        assert pap.accepted, _output(radius_log)
        assert pap.attributes["Mikrotik-Rate-Limit"] == "10M/50M 0/0 0/0 0/0 8 5M/20M"
        assert pap.attributes["WISPr-Bandwidth-Max-Down"] == "50000000"
        assert pap.attributes["WISPr-Bandwidth-Max-Up"] == "10000000"
        assert pap.attributes["Framed-IP-Address"] == "192.0.2.10"
        assert pap.attributes["Delegated-IPv6-Prefix"] == "2001:db8:10::/56"
        assert "Mikrotik-Address-List" not in pap.attributes

        mschap = await _ask(port, SECRET_A, "alice", PASSWORDS["alice"], method="mschapv2")
        assert mschap.accepted, _output(radius_log)
        assert "MS-CHAP2-Success" in mschap.attributes
        assert mschap.attributes["Framed-IP-Address"] == "192.0.2.10"
        wrong_mschap = await _ask(port, SECRET_A, "alice", "wrong", method="mschapv2")
        assert not wrong_mschap.accepted

        assert not (await _ask(port, SECRET_A, "alice", "wrong")).accepted

        walled = await _ask(port, SECRET_A, "sam", PASSWORDS["sam"])
        assert walled.accepted, _output(radius_log)
        assert walled.attributes["Mikrotik-Address-List"] == "walled-garden"
        assert walled.attributes["Mikrotik-Rate-Limit"] == "256k/256k"
        assert walled.attributes["Framed-IP-Address"] == "192.0.2.11"

        assert not (await _ask(port, SECRET_A, "carl", PASSWORDS["carl"])).accepted

        # The same username under the other tenant's NAS: that tenant's login, never this one.
        guest = await _ask(port, SECRET_A, "voucher-9", PASSWORDS["voucher-9"])
        assert guest.accepted, _output(radius_log)
        assert guest.attributes["Mikrotik-Group"] == "day"
        assert guest.attributes["Session-Timeout"] == "86400"

        crossed = await _ask(port, SECRET_B, "alice", PASSWORDS["alice"], source=NAS_B)
        assert not crossed.accepted
        own = await _ask(port, SECRET_B, "alice", OTHER_ALICE, source=NAS_B)
        assert own.accepted and "Framed-IP-Address" not in own.attributes

        # A rotated password counts at the next login; the read model need not catch up.
        await _password(api_a, alice, ROTATED)
        assert not (await _ask(port, SECRET_A, "alice", PASSWORDS["alice"])).accepted
        assert (await _ask(port, SECRET_A, "alice", ROTATED, method="mschapv2")).accepted

        # A NAS registered while FreeRADIUS runs is answered once it has been started again.
        with pytest.raises(TimeoutError):  # an unknown client gets no answer at all
            await _ask(port, SECRET_LATER, "alice", ROTATED, source=LATER, timeout=0.5)
        await _nas(api_a, LATER, SECRET_LATER)
        later = await until(
            lambda: _answer(port, SECRET_LATER, "alice", ROTATED, source=LATER), 20, 0.2
        )
        assert later.accepted
    finally:
        stop.set()
        await radius
        out.close()

    stored = await pool.fetchval(
        "select string_agg(data::text || metadata::text, ' ') from events.events"
        " where tenant_id = any($1::text[])",
        [api_a.tenant_id, api_b.tenant_id],  # type: ignore[attr-defined]
    )
    history = await pool.fetchval(
        "select string_agg(summary, ' | ') from read.history where tenant_id = $1",
        api_a.tenant_id,  # type: ignore[attr-defined]
    )
    assert "Service password set" in history and "Hotspot password set" in history
    written = _output(radius_log)
    assert "Login OK" in written
    for password in (*PASSWORDS.values(), OTHER_ALICE, ROTATED, SECRET_A, SECRET_B, SECRET_LATER):
        assert password not in stored
        assert password not in written
