"""Commands over HTTP: codes, concurrency, idempotency, against the real event store."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid

import asyncpg
import httpx
import nats

from contracts.subjects import appended_hint_subject
from services.subscription.config import Settings
from tests.helpers import directory
from tests.integration.conftest import ClientFactory, new_subscription, project


async def _versions(pool: asyncpg.Pool, stream_id: object) -> list[int]:
    rows = await pool.fetch(
        "select version from events.events where stream_id = $1 order by version",
        uuid.UUID(str(stream_id)),
    )
    return [r["version"] for r in rows]


async def test_create_answers_201_with_a_generated_unique_id(api: httpx.AsyncClient) -> None:
    created = await new_subscription(api)
    assert set(created) >= {"id", "unique_id", "version", "position"}
    assert re.fullmatch(r"SUB-\d{6}", str(created["unique_id"]))
    assert created["version"] == 1 and int(str(created["position"])) > 0


async def test_unique_ids_increase_per_tenant(api: httpx.AsyncClient) -> None:
    first = await new_subscription(api)
    second = await new_subscription(api)
    assert str(first["unique_id"]) < str(second["unique_id"])


async def test_command_that_changes_nothing_appends_nothing(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    created = await new_subscription(api)
    url = f"/api/v1/subscriptions/{created['id']}/status"
    same = await api.post(url, json={"status": "Active"})
    assert same.status_code == 200
    assert same.json() == {"id": created["id"], "version": 1, "position": created["position"]}
    assert await _versions(pool, created["id"]) == [1]


async def test_status_change_then_closed_refuses_changes(api: httpx.AsyncClient) -> None:
    created = await new_subscription(api)
    url = f"/api/v1/subscriptions/{created['id']}"
    moved = await api.post(f"{url}/status", json={"status": "Suspended", "reason": "unpaid"})
    assert moved.status_code == 200 and moved.json()["version"] == 2
    closed = await api.post(f"{url}/status", json={"status": "Cancelled"})
    assert closed.status_code == 200
    for method, path, body in (
        ("POST", "/status", {"status": "Active"}),
        ("PATCH", "", {"name": "new name"}),
        ("POST", "/engineer", {"engineer_id": created["refs"]["engineer_id"]}),
    ):
        refused = await api.request(method, url + path, json=body)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"


async def test_twenty_racing_commands_at_one_if_match_one_wins(api: httpx.AsyncClient) -> None:
    created = await new_subscription(api)
    url = f"/api/v1/subscriptions/{created['id']}"
    responses = await asyncio.gather(
        *(
            api.patch(url, json={"name": f"name {i}"}, headers={"If-Match": '"1"'})
            for i in range(20)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [412] * 19, codes


async def test_racing_commands_without_if_match_lose_no_update(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    created = await new_subscription(api)
    url = f"/api/v1/subscriptions/{created['id']}"
    responses = await asyncio.gather(
        *(api.patch(url, json={"description": f"note {i}"}) for i in range(20))
    )
    ok = [r for r in responses if r.status_code == 200]
    assert all(r.status_code in (200, 409) for r in responses)
    # every accepted change is one event of its own: none overwrote another unseen
    assert len(await _versions(pool, created["id"])) == 1 + len(ok)


async def test_repeated_idempotency_key_returns_first_answer(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    body = {**refs, "name": "Idempotent", "status": "Active"}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.post("/api/v1/subscriptions", json=body, headers=headers)
    again = await api.post("/api/v1/subscriptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    count = await pool.fetchval(
        "select count(*) from events.events where metadata->>'idempotency_key' = $1",
        headers["Idempotency-Key"],
    )
    assert count == 1
    other = await api.post("/api/v1/subscriptions", json={**body, "name": "Other"}, headers=headers)
    assert other.status_code == 422


async def test_concurrent_requests_with_one_idempotency_key_create_one(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    refs = await directory(api)
    body = {**refs, "name": "Once", "status": "Active"}
    key = str(uuid.uuid4())
    responses = await asyncio.gather(
        *(
            api.post("/api/v1/subscriptions", json=body, headers={"Idempotency-Key": key})
            for _ in range(8)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1


async def test_tenants_are_blind_to_each_other(client_for: ClientFactory) -> None:
    mine, theirs = await client_for(), await client_for()
    created = await new_subscription(mine)
    url = f"/api/v1/subscriptions/{created['id']}"
    assert (await theirs.post(f"{url}/status", json={"status": "Inactive"})).status_code == 404
    assert (await theirs.patch(url, json={"name": "x"})).status_code == 404
    contact = created["refs"]["contact_id"]
    assert (
        await theirs.patch(f"/api/v1/contacts/{contact}", json={"name": "x"})
    ).status_code == 404
    refs = created["refs"]
    foreign = await theirs.post(
        "/api/v1/subscriptions", json={**refs, "name": "borrowed", "status": "Active"}
    )
    assert foreign.status_code == 422
    assert {e["pointer"] for e in foreign.json()["errors"]} == {"/contact_id"}


async def test_read_token_cannot_write(client_for: ClientFactory) -> None:
    reader = await client_for(role="read")
    response = await reader.post("/api/v1/contacts", json={"name": "x"})
    assert response.status_code == 403


async def test_missing_or_unknown_token_is_401(app_transport: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://test") as anonymous:
        assert (await anonymous.get("/api/v1/subscriptions")).status_code == 401
        wrong = await anonymous.get(
            "/api/v1/subscriptions", headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        assert (await anonymous.get("/healthz")).status_code == 200
        assert (await anonymous.get("/openapi.json")).status_code == 200


async def test_deactivated_reference_is_refused_for_new_subscriptions(
    api: httpx.AsyncClient,
) -> None:
    created = await new_subscription(api)
    refs = created["refs"]
    gone = await api.post(f"/api/v1/engineers/{refs['engineer_id']}/deactivate", json={})
    assert gone.status_code == 200
    refused = await api.post(
        "/api/v1/subscriptions", json={**refs, "name": "x", "status": "Active"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/engineer_id"
    kept = await api.patch(f"/api/v1/subscriptions/{created['id']}", json={"name": "kept"})
    assert kept.status_code == 200


async def test_directory_edit_and_stale_if_match(api: httpx.AsyncClient) -> None:
    refs = await directory(api)
    url = f"/api/v1/contacts/{refs['contact_id']}"
    edited = await api.patch(url, json={"phone": "+1 555 0100"}, headers={"If-Match": '"1"'})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = await api.patch(url, json={"phone": "+1 555 0199"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412


async def test_an_append_sends_the_relay_a_hint(
    api: httpx.AsyncClient, settings: Settings, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        hints = await nc.subscribe(appended_hint_subject(settings.namespace))
        await nc.flush()
        # The API's own NATS connection comes up in the background: appends until it stands.
        for attempt in range(20):
            response = await api.post("/api/v1/engineers", json={"name": f"Bo Hint {attempt}"})
            assert response.status_code == 201
            with contextlib.suppress(nats.errors.TimeoutError):
                message = await hints.next_msg(timeout=0.5)
                assert message.data == b""
                return
        raise AssertionError("no hint after 20 appends")
    finally:
        await nc.close()


async def test_the_summary_etag_follows_every_event_of_the_stream(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """A service, device or payment is an event of the subscription's stream: the summary's
    version (ETag, the History count) counts it, so an If-Match taken from it is not stale."""
    created = await new_subscription(api)
    url = f"/api/v1/subscriptions/{created['id']}"
    service = {"plan": "Fibre 50", "download_max_mbps": 50, "upload_max_mbps": 10}
    added = await api.post(f"{url}/services", json=service)
    assert added.status_code == 201, added.text
    assert added.json()["version"] == 2
    await project(pool, added.json()["position"])
    summary = await api.get(url)
    assert summary.status_code == 200, summary.text
    assert summary.json()["version"] == 2 and summary.headers["etag"] == '"2"'
    edited = await api.patch(url, json={"name": "renamed"}, headers={"If-Match": '"2"'})
    assert edited.status_code == 200, edited.text
